"""The people's pages: one process that serves the whole product in Chinese to every role, holds no
domain data, and calls the services' HTTP APIs as the signed-in user (a backend-for-frontend)."""
