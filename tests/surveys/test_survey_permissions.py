"""What the central permission matrix cannot send for surveys: nobody reads a response."""


def test_reading_responses_is_not_possible_for_anyone(api, cast):
    for person in (cast["hr_admin"], cast["executive"], cast["employee"]):
        assert api.as_(person).get("/api/v1/responses/").status_code == 405
