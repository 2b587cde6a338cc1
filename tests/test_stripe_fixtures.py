"""The fake Stripe servers answer with Stripe's published objects when they are on this
machine (../shared/stripe or $STRIPE_FIXTURES), else with bare objects the fakes fill in."""
from tests import stripe_fixtures


def test_the_fakes_read_stripes_published_fixtures_when_present():
    resources = stripe_fixtures.resources()
    assert set(stripe_fixtures.PREFIX) <= set(resources)
    assert resources["transfer"]["object"] == "transfer"
    if stripe_fixtures.SOURCE:  # Stripe's own example objects, with their fields
        assert {"destination", "reversals", "transfer_group"} <= set(resources["transfer"])
        assert "next_action" in resources["payment_intent"]
    else:
        assert resources["transfer"]["id"] == "tr_bare"
