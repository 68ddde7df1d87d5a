from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.set_listing import build_listing, chain_problem


def _listing(kinds):
    keys = [naming.data_key("h", "s", f"2026120{n}T000000Z", kind, ".tar") for n, kind in enumerate(kinds, 1)]
    listing = build_listing([(k, 1) for k in keys] + [(naming.manifest_key(k), 1) for k in keys], "h/s/")
    return keys, listing


def _manifests(keys):
    return {
        naming.manifest_key(k): {"key": k, "kind": "diff" if i else "full", "parent": keys[i - 1] if i else None}
        for i, k in enumerate(keys)
    }


def test_an_intact_chain_has_no_problem():
    keys, listing = _listing(["full", "diff", "diff"])
    manifests = _manifests(keys)
    assert chain_problem(listing.chain_of_newest(), manifests.__getitem__) is None


def test_a_diff_that_does_not_follow_its_predecessor_is_a_broken_link():
    keys, listing = _listing(["full", "diff", "diff"])
    manifests = _manifests(keys)
    manifests[naming.manifest_key(keys[2])]["parent"] = keys[0]  # diff 1 was deleted and re-made?
    assert "depends on" in chain_problem(listing.chain_of_newest(), manifests.__getitem__)


def test_an_unreadable_manifest_is_a_problem():
    _keys, listing = _listing(["full", "diff"])

    def unreadable(key):
        raise ValueError("Expecting value: line 1 column 1")

    assert "unreadable" in chain_problem(listing.chain_of_newest(), unreadable)


def test_a_manifest_for_another_object_is_a_problem():
    keys, listing = _listing(["full"])
    manifests = {naming.manifest_key(keys[0]): {"key": "elsewhere", "kind": "full", "parent": None}}
    assert "does not describe" in chain_problem(listing.chain_of_newest(), manifests.__getitem__)


def test_a_backup_missing_a_volume_its_manifest_names_breaks_the_chain():
    keys, _intact = _listing(["full"])
    objects = [(keys[0], 8), (naming.manifest_key(keys[0]), 1), (keys[0] + "~00002", 8), (keys[0] + "~00004", 3)]
    chain = build_listing(objects, "h/s/").chain_of_newest()
    manifests = _manifests(keys)
    described = manifests[naming.manifest_key(keys[0])]
    problems = {}
    for count in (4, 2, "4", 0):
        described["volumes"] = count
        problems[count] = chain_problem(chain, manifests.__getitem__)
    assert problems == {
        4: f"{keys[0]}: volume 3 of the 4 its manifest names is not in the bucket",
        2: f"{keys[0]}: the bucket holds 3 volumes of it, its manifest names 2",
        "4": f"{keys[0]}: its manifest's volumes ('4') is not a count",
        0: f"{keys[0]}: its manifest's volumes (0) is not a count",
    }


def test_a_manifest_without_volumes_names_one_as_before_volumes():
    keys, listing = _listing(["full", "diff"])
    assert chain_problem(listing.chain_of_newest(), _manifests(keys).__getitem__) is None
    (full, _diff) = listing.backups
    assert full.volumes == [(keys[0], 1)]
