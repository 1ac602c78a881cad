"""The server starts; a wrong password is refused in Russian, a right one logs in."""

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import LiveServer


def test_login_in_real_browser(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page = new_context("staff").new_page()
    page.goto("/staff/")
    expect(page.get_by_role("heading", name="Вход для сотрудников")).to_be_visible()
    page.get_by_label("Логин").fill("operator")
    page.get_by_label("Пароль").fill("wrong-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль.")
    page.get_by_label("Пароль").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).not_to_have_url(f"{live.url}/login")
    assert "staff" in page.url or page.url.rstrip("/") == live.url
