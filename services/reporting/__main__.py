from services.runner import run_service

run_service("reporting")
