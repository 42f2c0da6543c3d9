def test_a_manager_sees_their_subtree_in_full_and_sales_as_public_cards(api, cast):
    response = api.as_(cast["manager"]).get("/api/v1/employees/", {"page_size": 100})
    assert response.status_code == 200
    results = response.json()["results"]
    full = sorted(item["name"] for item in results if "email" in item)
    assert full == ["Erin Employee", "Maya Manager", "Olga Outsider", "Tom Teammate"]
    assert "Sam Sales" in {item["name"] for item in results}
