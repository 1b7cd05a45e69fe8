"""The report as a person sees it: report.html in headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them);
skips, saying so, where they are absent.
"""

from __future__ import annotations

import shutil

import pytest
from reporthelp import FIGURES, cpu_bound_sweep, small

import hpsim
from hpsim.cli import main
from hpsim.observe.output import write_results
from hpsim.scenario.load import load_data

webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium not installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_report_loads_without_console_errors_and_shows_every_figure(tmp_path, browser):
    data = small(name="browser", description="<script>console.error('x')</script> & more")
    out = write_results(hpsim.run(load_data(data)), tmp_path / "run", report=True)
    browser.get((out / "report.html").as_uri())
    assert browser.title == "hpsim report: browser"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).map("
        "i => [i.closest('figure').id, i.complete && i.naturalWidth > 0])"
    )
    # Every figure is drawn and loaded, but the pending pods' (no pod waited): its sentence.
    assert shown == [[f"fig-{name}", True] for name in FIGURES if name != "pending"]
    blank = browser.find_element("id", "fig-pending").text
    assert blank.endswith("No pod waited for the scheduler: each was bound when it was created.")
    # The description is text on the page, not a script that ran.
    text = browser.find_element("tag name", "body").text
    assert "<script>console.error('x')</script> & more" in text


def test_sweep_report_shows_its_figures_and_the_objective_answer(tmp_path, browser):
    folder = cpu_bound_sweep(tmp_path / "sweep")
    assert main(["report", str(folder), "--objective", "pending_s_mean<=60"]) == 0
    browser.get((folder / "report.html").as_uri())
    assert browser.title == "hpsim sweep report: cpu-bound"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).map("
        "i => [i.closest('figure').id, i.complete && i.naturalWidth > 0])"
    )
    # What differs between a 4-CPU and an 8-CPU node: the waits and the pods bound at once.
    assert ["fig-pending_s_mean", True] in shown and ["fig-pods_per_node_max", True] in shown
    assert all(loaded for _, loaded in shown)
    answer = browser.find_element("id", "objective-answer").text
    assert answer.startswith("The cheapest point that meets it is p001 (node.cpu=8; 8 CPUs,")
