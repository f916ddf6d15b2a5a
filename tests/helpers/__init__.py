"""Test helpers shared by the whole suite: server processes, a raw RESP client, free ports."""
