"""Adapters for the providers China's township responders are reached through: DingTalk and WeCom
group robots, Alibaba Cloud and Tencent Cloud SMS. Each signs and shapes its request as its provider
documents it and reads the provider's error codes into retry-later or give-up (`Verdict`)."""
