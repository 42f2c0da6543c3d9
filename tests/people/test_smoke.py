def test_a_manager_sees_their_subtree_and_not_sales(api, cast):
    response = api.as_(cast["manager"]).get("/api/v1/employees/", {"page_size": 100})
    assert response.status_code == 200
    names = sorted(item["name"] for item in response.json()["results"])
    assert names == ["Erin Employee", "Maya Manager", "Olga Outsider", "Tom Teammate"]
