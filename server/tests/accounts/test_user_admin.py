"""Staff deactivate users from the admin in bulk; the sessions end like after a save. An admin
action that changes rows needs the change permission, not only view."""

import pytest
from django.contrib.auth.models import Permission

from shop.accounts.models import User
from shop.accounts.recent_tokens import recent_tokens
from shop.outbox.models import Entry
from tests.helpers import assert_problem, work

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bulk_deactivation_from_the_admin_ends_the_sessions(admin_client, alice, bob, client_for):
    sessions = [client_for(alice), client_for(bob)]
    for session in sessions:
        assert session.get("/api/auth/me/").status_code == 200
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "deactivate_users", "_selected_action": [alice.pk, bob.pk]},
        follow=True,
    )
    assert "Deactivated 2 user(s)." in response.content.decode()
    recent_tokens.clear()  # another process, TOKEN_CACHE_SECONDS later
    for session in sessions:
        assert_problem(session.get("/api/auth/me/"), 401, "authentication_failed")
    assert not User.objects.filter(pk__in=[alice.pk, bob.pk], is_active=True).exists()


def test_staff_who_may_only_view_outbox_rows_cannot_requeue_them(
    client, make_user, place, alice, make_product
):
    order = place(alice, (make_product("Lamp", price="30.00", stock=10), 1))
    invoice = work(order, "invoice")
    Entry.objects.filter(pk=invoice.pk).update(status="failed")
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_entry"))
    client.force_login(viewer)
    page = client.get("/admin/outbox/entry/")
    assert page.status_code == 200
    assert "requeue_selected" not in page.content.decode()
    response = client.post(
        "/admin/outbox/entry/", {"action": "requeue_selected", "_selected_action": [invoice.pk]}
    )
    assert response.status_code in (200, 302)
    assert work(order, "invoice").status == "failed"
