def test_world(world, db):
    print({k: (v if not isinstance(v, dict) else list(v)) for k, v in world.objects.items()})
    assert world.obj("petition", "in").status == "handling"
