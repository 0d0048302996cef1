"""moto's recording, read as its threaded server writes it."""

from __future__ import annotations

import json

from localaws.recorder import _entries, _parsed


def test_entries_served_at_once_may_share_a_line():
    get = {"method": "GET", "url": "http://x/bucket?list-type=2&prefix=images/", "headers": {}}
    put = {"method": "PUT", "url": "http://x/bucket/key", "headers": {}, "body": "a\\nb"}
    recording = json.dumps(get) + json.dumps(put) + "\n\n" + json.dumps(get) + "\n"
    served = [_parsed(entry) for entry in _entries(recording)]
    assert [request.method for request in served] == ["GET", "PUT", "GET"]
    assert [request.is_list_objects for request in served] == [True, False, True]
