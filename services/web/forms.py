"""Forms that keep what the user typed and say, in Chinese, which field is wrong and why.

A view reads the posted form into a `Form` (the values as typed), checks what it can itself, and
sends the rest to a service. A 422 or 409 answer from the service comes back as a `Refused`
(services/web/client.py) whose field errors `Form.refused` turns into Chinese: the field's label
from the view's `labels`, the reason from the error's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

# pydantic's error types (what the services answer with) in words a user understands
REASONS: dict[str, str] = {
    "missing": "必须填写",
    "string_too_short": "必须填写",
    "string_too_long": "太长了，最多 {max_length} 个字",
    "too_short": "至少要填 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "int_parsing": "请填写整数",
    "int_type": "请填写整数",
    "float_parsing": "请填写数字",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
    "literal_error": "请从选项中选择",
    "enum": "请从选项中选择",
    "date_parsing": "日期格式不对",
    "date_from_datetime_parsing": "日期格式不对",
    "datetime_parsing": "时间格式不对",
    "datetime_from_date_parsing": "时间格式不对",
    "timezone_aware": "时间缺少时区",
    "uuid_parsing": "编号格式不对",
    "extra_forbidden": "不接受这一项",
    "string_pattern_mismatch": "含有不允许的字符",
}
# what the services say in their own words (shared/errors.py Invalid reasons), recognised by a
# fragment; anything else is shown as a general refusal
PHRASES: tuple[tuple[str, str], ...] = (
    ("cannot exceed ill_count", "不能多于发病人数（已计入发病人数）"),
    ("in the future", "不能晚于现在"),
    ("not in your", "不在您负责的范围内"),
    ("outside", "不在您负责的范围内"),
    ("already", "已经存在"),
)


def reason_in_chinese(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    template = REASONS.get(kind)
    if template:
        try:
            return template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            return template.split("，")[0]
    message = str(error.get("msg", ""))
    for fragment, chinese in PHRASES:
        if fragment in message:
            return chinese
    return "填写有误，请检查"


def field_of(error: dict[str, Any]) -> str:
    """The field an error is about: the first name after `body` in its location."""
    loc = [str(part) for part in error.get("loc") or [] if not isinstance(part, int)]
    if loc and loc[0] in ("body", "query", "path"):
        loc = loc[1:]
    return ".".join(loc)


@dataclass
class Form:
    """What the user typed, and what is wrong with it, to render the form again."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, data: FormData, names: list[str] | tuple[str, ...]) -> Form:
        """The named fields as typed (trimmed), never the CSRF token."""
        values = {}
        for name in names:
            value = data.get(name)
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(values=values)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def error(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, reason)

    def required(self, *names: str) -> None:
        for name in names:
            if not self.get(name):
                self.error(name, "必须填写")

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
        """The field as a whole number in [low, high]; None (and an error) when it is not."""
        text = self.get(name)
        if not text:
            if default is not None:
                return default
            self.error(name, "必须填写")
            return None
        try:
            number = int(text)
        except ValueError:
            self.error(name, "请填写整数")
            return None
        if number < low:
            self.error(name, f"不能小于 {low}")
        elif number > high:
            self.error(name, f"不能大于 {high}")
        else:
            return number
        return None

    def refused(self, errors: list[dict[str, Any]], fields: dict[str, str], labels: dict[str, str]) -> None:
        """A service's field errors, put on the form's fields (`fields` maps the service's field
        name to the form's) in Chinese; an error on no field of the form is a general one."""
        for error in errors:
            name = field_of(error)
            reason = reason_in_chinese(error)
            target = fields.get(name) or fields.get(name.split(".")[0])
            if target:
                self.error(target, reason)
            else:
                label = labels.get(name) or labels.get(name.split(".")[0]) or "提交的内容"
                self.general.append(f"{label}：{reason}")
