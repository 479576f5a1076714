"""Settings of the example project (development's; shop.settings_test adds test's)."""

from dbenv.integrations.django import databases

SECRET_KEY = "example-only-not-a-secret"
DEBUG = True
USE_TZ = True
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "notes"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The active dbenv environment's database (APP_ENV, or this settings module's name)
DATABASES = databases(CONN_MAX_AGE=0)
