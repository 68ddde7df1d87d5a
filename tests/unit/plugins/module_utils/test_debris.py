"""Which leftovers of killed runs the next run removes, and which it leaves to rotation."""

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.debris import leftover_groups
from ansible_collections.s3napback.s3napback.plugins.module_utils.rotation import expired_keys
from ansible_collections.s3napback.s3napback.plugins.module_utils.set_listing import build_listing


def key(day: int, kind: str = "full") -> str:
    return naming.data_key("h", "s", f"202612{day:02}T031500Z", kind, ".tar.zst.gpg")


def backup(day: int, kind: str = "full") -> list[str]:
    data = key(day, kind)
    return [data, naming.index_key(data), naming.manifest_key(data)]


def listing_of(*keys: str):
    return build_listing([(k, 1) for k in keys], "h/s/")


def test_a_stray_newer_than_the_newest_backup_goes_with_its_index_first():
    stray = key(3, "diff")
    listing = listing_of(*backup(1), *backup(2, "diff"), stray, naming.index_key(stray))
    assert listing.strays == [stray] and listing.stray_indexes == [naming.index_key(stray)]
    assert leftover_groups(listing, []) == [[naming.index_key(stray), stray]]


def test_every_stray_goes_when_the_set_has_no_backup_yet():
    first, second = key(1), key(2)
    listing = listing_of(first, second, naming.index_key(second))
    assert leftover_groups(listing, []) == [[first], [naming.index_key(second), second]]


def test_a_lonely_index_newer_than_the_newest_backup_goes_an_older_one_stays():
    old, new = naming.index_key(key(1, "diff")), naming.index_key(key(3, "diff"))
    listing = listing_of(old, *backup(2), new)
    assert listing.lonely_indexes == [old, new]
    assert leftover_groups(listing, []) == [[new]]


def test_a_stray_older_than_a_backup_stays_unless_an_earlier_run_found_it_locked():
    stray = key(2, "diff")
    listing = listing_of(*backup(1), stray, *backup(3, "diff"))
    assert leftover_groups(listing, []) == []
    assert leftover_groups(listing, [stray]) == [[stray]]


def test_nothing_of_a_backup_with_its_manifest_is_ever_a_leftover():
    listing = listing_of(*backup(1), *backup(2, "diff"), naming.manifest_key(key(3)))  # a lonely manifest
    assert leftover_groups(listing, [key(1), naming.index_key(key(2, "diff"))]) == []


def test_rotation_takes_an_old_strays_index_with_it():
    stray = key(2, "diff")
    listing = listing_of(*backup(1), stray, naming.index_key(stray), *backup(5))
    expired = expired_keys(listing, fulls=1)
    assert naming.index_key(stray) in expired and expired.index(naming.index_key(stray)) < expired.index(stray)


def test_a_listing_without_the_removed_leftovers_keeps_its_backups():
    stray = key(3, "diff")
    listing = listing_of(*backup(1), stray, naming.index_key(stray))
    cleared = listing.without([naming.index_key(stray), stray])
    assert cleared.strays == [] and cleared.stray_indexes == [] and cleared.backups == listing.backups


def volumes(data: str, count: int) -> list[str]:
    return [naming.volume_key(data, number) for number in range(2, count + 1)]


def test_a_stray_goes_with_its_index_then_its_later_volumes_the_first_last():
    stray = key(3, "diff")
    listing = listing_of(*backup(1), stray, *volumes(stray, 3), naming.index_key(stray))
    assert listing.stray_volumes == {stray: volumes(stray, 3)}
    assert leftover_groups(listing, []) == [[naming.index_key(stray), stray + "~00003", stray + "~00002", stray]]


def test_a_lonely_volume_newer_than_the_newest_backup_goes_an_older_one_stays():
    old, new = volumes(key(1, "diff"), 2)[0], volumes(key(3, "diff"), 2)[0]
    listing = listing_of(old, *backup(2), new)
    assert listing.lonely_volumes == [old, new] and listing.strays == []
    assert leftover_groups(listing, []) == [[new]]
    assert old in expired_keys(listing_of(old, *backup(2), *backup(5)), fulls=1)


def test_a_backups_volumes_are_its_own_and_rotation_deletes_them_before_its_first():
    full = key(1)
    listing = listing_of(*backup(1), *volumes(full, 3), *backup(5))
    (first, _newest) = listing.backups
    assert [volume for volume, _size in first.volumes] == [full, *volumes(full, 3)] and first.size == 3
    assert listing.strays == [] and listing.lonely_volumes == []
    assert expired_keys(listing, fulls=1) == [
        naming.manifest_key(full),
        naming.index_key(full),
        full + "~00003",
        full + "~00002",
        full,
    ]
