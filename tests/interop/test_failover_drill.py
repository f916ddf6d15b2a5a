"""The failover drill (`pika-sentinel drill`, pikadb.sentinel.drill): a bounded run end to end
over pikad + pika-sentinel, and its report and plot on made-up data.

The end-to-end run is a benchmark: it asserts the report's structure, that sync mode loses no
acknowledged write to kill -9, and that the drill left no process running; never its times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.servers import child_env
from pikadb.sentinel.drill_procs import pid_running
from pikadb.sentinel.drill_report import METRICS, DrillResult, Report, rate_series, svg

# `pika-sentinel drill ...` through the console script's main(), with this interpreter.
DRILL = [sys.executable, "-c", "import sys; from pikadb.sentinel.main import main; main()", "drill"]
DRILL_KEYS = {
    "index",
    "fault",
    "old_master",
    "new_master",
    "fault_t",
    "agree_t",
    "recover_t",
    "first_ack_t",
    "rejoin_t",
    "agree_s",
    "unavailable_s",
    "rejoin_s",
    "lost",
    "checked",
    "failed_writes",
    "old_master_acks",
    "error",
}


def run_drill(cwd: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DRILL, *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_sync_mode_drill_kill9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    report_path, plot_path = tmp_path / "report.json", tmp_path / "plot.svg"
    args = ["-n", "2", "--sync", "--down-after", "1000", "--failover-timeout", "3000"]
    args += ["--step-timeout", "60", "--plot", str(plot_path), "--json", str(report_path)]
    done = run_drill(tmp_path, *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)

    out = done.stdout
    assert "drill  old master" in out and "summary of 2 drills" in out
    assert "acknowledged writes lost: 0 of " in out

    runs = json.loads(report_path.read_text())["runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["label"] == "pika-sentinel" and run["error"] is None
    assert "sync mode" in run["deployment"] and run["fault"].startswith("kill -9")
    assert run["total_lost"] == 0 and run["lost_keys"] == []
    assert run["acked"] > 0 and run["attempts"] >= run["acked"]
    drills = run["drills"]
    assert [d["index"] for d in drills] == [1, 2]
    for d in drills:
        assert set(d) == DRILL_KEYS
        assert d["error"] is None and d["lost"] == 0 and d["checked"] > 0
        assert d["new_master"] != d["old_master"]
        for key, _title, _desc in METRICS:
            assert isinstance(d[key], float) and d[key] >= 0
        assert d["fault_t"] < d["agree_t"] <= d["recover_t"] < d["rejoin_t"]
        assert d["fault_t"] < d["first_ack_t"]
    assert drills[1]["old_master"] == drills[0]["new_master"]
    assert drills[1]["checked"] > drills[0]["checked"]
    for key, _title, _desc in METRICS:
        assert set(run["summary"][key]) == {"median", "min", "max", "n"}
        assert run["summary"][key]["n"] == 2

    root = ET.fromstring(plot_path.read_text())
    assert root.tag.endswith("svg")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 1

    # 3 servers + 3 sentinels + the 2 killed masters started again: all stopped by the drill.
    assert len(run["pids"]) == 8
    assert [pid for pid in run["pids"] if pid_running(pid)] == []
    assert run["workdir"] and not Path(run["workdir"]).exists()


def test_drill_cli_hook_and_argument_checks(tmp_path: Path) -> None:
    done = run_drill(tmp_path, "--help", timeout=60)
    assert done.returncode == 0
    assert "usage: pika-sentinel drill" in done.stdout and "--attach" in done.stdout
    bad = run_drill(tmp_path, "--sync", "--servers", "redis", timeout=60)
    assert bad.returncode == 2 and "--sync is pikad's sync mode" in bad.stderr
    attach = run_drill(tmp_path, "--attach", "127.0.0.1:1", timeout=60)
    assert attach.returncode == 2 and "--allow-kill" in attach.stderr


def made_up_report() -> Report:
    report = Report(label="pika-sentinel", deployment="made up", fault="kill -9")
    report.ack_times = [i / 100 for i in range(300)] + [5 + i / 100 for i in range(500)]
    report.duration_s = 10.0
    report.drills = [
        DrillResult(
            index=1,
            fault="kill",
            old_master="127.0.0.1:1",
            new_master="127.0.0.1:2",
            fault_t=3.0,
            agree_t=4.5,
            recover_t=4.6,
            first_ack_t=5.0,
            rejoin_t=9.0,
            agree_s=1.5,
            unavailable_s=2.0,
            rejoin_s=4.4,
        ),
        DrillResult(index=2, fault="kill", old_master="127.0.0.1:2", agree_s=2.5),
    ]
    return report


def test_report_summary_and_rates_on_made_up_data() -> None:
    report = made_up_report()
    summary = report.summary()
    assert summary["agree_s"] == {"median": 2.0, "min": 1.5, "max": 2.5, "n": 2.0}
    assert summary["rejoin_s"]["median"] == 4.4 and summary["rejoin_s"]["n"] == 1.0
    width, series = rate_series(report.ack_times, report.duration_s)
    assert width == 0.25 and len(series) == 40
    assert series[0] == (0.125, 100.0)
    assert all(rate == 0 for t, rate in series if 3.0 < t < 5.0)
    data = report.to_json()
    assert "ack_times" not in data and data["summary"] == summary
    json.dumps(data)


def test_svg_plot_is_well_formed_with_markers() -> None:
    text = svg([made_up_report(), made_up_report()])
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}polyline")) == 2
    titles = [t.text or "" for t in root.iter(f"{ns}title")]
    assert any("drill 1: fault at 3.00 s" in t for t in titles)
    assert any("old master rejoined at 9.00 s" in t for t in titles)
