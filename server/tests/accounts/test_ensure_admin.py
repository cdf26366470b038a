import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_it_creates_the_admin_once(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")
    call_command("ensure_admin")
    call_command("ensure_admin")
    assert "already exists" in capsys.readouterr().out
    admin = get_user_model().objects.get(username="root")
    assert admin.is_staff and admin.is_superuser and admin.check_password("a-long-admin-password")


def test_it_names_what_is_missing(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_USERNAME"):
        call_command("ensure_admin")
