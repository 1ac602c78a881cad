"""Device pairing: a one-time code becomes a device cookie; kinds keep separate cookies."""

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import csrf_of
from visits.models import DeviceKind
from visits.services.devices import device_create


def _pair(client: FlaskClient, code: str) -> None:
    response = client.post("/device/pair", data={"code": code, "csrf_token": csrf_of(client)})
    assert response.status_code == 303


def test_one_browser_can_be_kiosk_and_display(client: FlaskClient, session: Session) -> None:
    _kiosk, kiosk_code = device_create(session=session, kind=DeviceKind.KIOSK, name="Киоск")
    _display, display_code = device_create(
        session=session, kind=DeviceKind.DISPLAY, name="Табло", spot_key="f3-lift"
    )
    _pair(client, kiosk_code)
    _pair(client, display_code)
    assert client.get("/kiosk/").status_code == 200
    assert client.get("/signage/").status_code == 200


def test_code_is_one_time_and_bad_codes_say_why(client: FlaskClient, session: Session) -> None:
    _kiosk, code = device_create(session=session, kind=DeviceKind.KIOSK, name="Киоск")
    _pair(client, code)
    again = client.post("/device/pair", data={"code": code, "csrf_token": csrf_of(client)})
    assert again.status_code == 422
    assert "Код не подошёл или устарел" in again.get_data(as_text=True)
    short = client.post("/device/pair", data={"code": "123", "csrf_token": csrf_of(client)})
    assert "Код привязки состоит из 8 цифр." in short.get_data(as_text=True)


def test_unpaired_browser_is_sent_to_pairing_and_staff_login_opens_no_device_page(
    client: FlaskClient,
) -> None:
    response = client.get("/kiosk/")
    assert response.status_code == 302 and "/device/pair" in response.headers["Location"]
    from tests.conftest import login_as

    login_as(client, "admin")
    assert client.get("/signage/").status_code == 302
    api = client.get("/signage/stream", headers={"Accept": "text/event-stream"})
    assert api.status_code == 401


def test_demo_start_page_pairs_a_device_in_one_click(
    session: Session, session_factory: object, office_config: object
) -> None:
    from visits.web import create_app

    app = create_app(
        config=office_config,
        session_factory=session_factory,
        demo=True,  # type: ignore[arg-type]
        settings={"TESTING": True},
    )
    client = app.test_client()
    kiosk, _code = device_create(session=session, kind=DeviceKind.KIOSK, name="Терминал в холле")
    page = client.get("/").get_data(as_text=True)
    assert f'href="/demo/open/{kiosk.id}">Терминал в холле</a>' in page
    paired = client.get(f"/demo/open/{kiosk.id}", follow_redirects=True)
    assert paired.request.path == "/kiosk/"


def test_pairing_with_a_bad_next_still_pairs_and_stays_on_this_site(
    client: FlaskClient, session: Session
) -> None:
    _kiosk, code = device_create(session=session, kind=DeviceKind.KIOSK, name="Киоск")
    response = client.post(
        "/device/pair",
        data={"code": code, "next": "/%09/evil.example/\r\n", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/kiosk/"
    assert client.get("/kiosk/").status_code == 200
