"""What a person opening the server in a browser meets: `/`, the favicon, Swagger UI and Redoc."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_root_points_to_the_docs(anon):
    response = anon.get("/")
    assert response.status_code == 200
    assert response.json()["docs"] == "/api/docs/"
    assert anon.get(response.json()["openapi"]).status_code == 200


def test_the_favicon_is_an_image(anon):
    response = anon.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_are_titled_and_load_nothing_from_elsewhere(anon, page):
    response = anon.get(page)
    assert "<title>Shop API</title>" in response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "https:" not in policy


def test_swagger_ui_keeps_the_token_across_reloads(anon):
    assert '"persistAuthorization": true' in anon.get("/api/docs/").content.decode()
