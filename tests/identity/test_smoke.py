from tests.identity.conftest import IdentityApp


def test_the_county_signs_in(identity: IdentityApp):
    answer = identity.as_("county", "GET", "/accounts/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "county"
