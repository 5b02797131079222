"""Checks `nn dashboard` (the nn-dashboard executable) from the outside: HTTP, JSON, HTML, security, load,
and a real headless Chromium driven by Selenium.

The fixture root is made by the real `nn` binary in a temporary folder:
  ROOT/digits/          `nn train --data Tests/Fixtures/digits.csv --layers 16 --epochs 2 --batch 64`
  ROOT/tune/s/          `nn tune --root ROOT/tune --study s --trials 3` (lr and batch searched, 1 epoch each)
  ROOT/escape -> /etc   a link out of the root, which must never be followed
  ROOT/linked/          a folder whose metrics.jsonl and history.jsonl are links to /etc/passwd
Then `nn-dashboard --root ROOT --port 0` is started once for the whole module; its port is read from the
line it prints first ("nn dashboard: serving ROOT on http://127.0.0.1:PORT/"), and it is stopped with
SIGTERM at the end, which it must obey within 5 s.

Run:  swift build --product nn && swift build --product nn-dashboard
      .venv/bin/python -m pytest -q -s Tests/python/test_dashboard.py   (.venv: bash scripts/install-deps.sh)
The binaries are $NN_BIN and $NN_DASHBOARD_BIN, else the newest of .build*/{debug,release}/nn and
.build*/{debug,release}/nn-dashboard. A missing binary, selenium, chromium or chromedriver is a failure
(never a skip). Screenshots go to $NN_TEST_OUTPUT, else .build/test-output/dashboard/.
"""
import asyncio
import glob
import html.parser
import http.client
import json
import os
import queue
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIGITS = os.path.join(REPO, "Tests", "Fixtures", "digits.csv")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "run `bash scripts/install-deps.sh` (apt: chromium chromium-driver; pip into .venv: selenium)"
STARTUP_LINE = re.compile(r"^nn dashboard: serving (.+) on http://127\.0\.0\.1:(\d+)/$")
LOAD_CONNECTIONS = 1000


def newest_binary(name, env_var):
    if os.environ.get(env_var):
        return os.environ[env_var]
    candidates = [c for build in ("debug", "release")
                  for c in glob.glob(os.path.join(REPO, ".build*", build, name)) if os.access(c, os.X_OK)]
    if not candidates:
        raise AssertionError(f"no {name} binary found; build it with `swift build --product {name}` or set {env_var}")
    return max(candidates, key=os.path.getmtime)


def run_nn(*args):
    env = dict(os.environ, NN_BACKEND="native")
    result = subprocess.run([newest_binary("nn", "NN_BIN"), *args], capture_output=True, text=True, env=env,
                            timeout=600, cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"nn {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


class Server:
    """A dashboard process: started, its port read from its first stdout line, stopped by a signal."""

    def __init__(self, argv, root, log_path):
        self.log = open(log_path, "w")
        original_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        # The server keeps the descriptor limit this process started with, even after the load test
        # raises the client's own.
        self.process = subprocess.Popen(
            [*argv, "--root", root, "--port", "0"], stdout=subprocess.PIPE, stderr=self.log, text=True,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, original_nofile))
        self.lines = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        first, deadline = None, time.monotonic() + 30
        while first is None:
            try:
                first = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    why = (f"exited {self.process.returncode}" if self.process.poll() is not None
                           else "printed no line within 30 s")
                    log = self.stderr()
                    self.stop(signal.SIGKILL)
                    raise AssertionError(f"{' '.join(argv)} --root … --port 0 {why}; stderr:\n{log}") from None
        match = STARTUP_LINE.match(first.rstrip("\n"))
        if not match:
            log = self.stderr()
            self.stop(signal.SIGKILL)
            raise AssertionError(f"{' '.join(argv)}: first stdout line {first!r} is not 'nn dashboard: serving DIR "
                                 f"on http://127.0.0.1:PORT/'; stderr:\n{log}")
        self.served_dir, self.port = match[1], int(match[2])
        self.base = f"http://127.0.0.1:{self.port}"

    def _drain(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def stderr(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-4000:]

    def stop(self, sig=signal.SIGTERM, within=5):
        """Sends `sig` and returns the exit status, or raises if the process is still running after `within` s."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the dashboard did not exit within {within} s of {sig.name}") from None
        finally:
            self.log.close()


def raw_get(port, path, timeout=30):
    """GET with the path sent exactly as given (no client-side normalisation); returns (status, headers, body).
    A connection closed without a response, or none within `timeout`, is a failure."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except (http.client.HTTPException, OSError) as error:
        shown = path if len(path) < 120 else f"{path[:100]}… ({len(path)} bytes)"
        raise AssertionError(f"GET {shown}: no HTTP response ({type(error).__name__}: {error})") from None
    finally:
        connection.close()


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        for child in self.children:
            yield child
            yield from child.walk()

    def find_all(self, predicate):
        return [e for e in self.walk() if predicate(e)]

    def by_id(self, element_id):
        found = self.find_all(lambda e: e.attrs.get("id") == element_id)
        return found[0] if found else None

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(html.parser.HTMLParser):
    """A forgiving DOM: void elements never open, a closing tag closes up to its opening one, <tr>/<td>/<th>
    close their open siblings (HTML's optional end tags)."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    AUTO_CLOSE = {"tr": {"tr"}, "td": {"td", "th"}, "th": {"td", "th"}, "li": {"li"}, "p": {"p"}}
    BOUNDARY = {"table", "thead", "tbody", "tfoot", "ul", "ol", "div", "body", "svg", "section", "main"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", [], None)
        self.current = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag in self.AUTO_CLOSE:
            probe = self.current
            while probe is not self.root and probe.tag not in self.BOUNDARY:
                if probe.tag in self.AUTO_CLOSE[tag]:
                    self.current = probe.parent
                    break
                probe = probe.parent
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, attrs, self.current))

    def handle_endtag(self, tag):
        probe = self.current
        while probe is not self.root and probe.tag != tag:
            probe = probe.parent
        if probe is not self.root:
            self.current = probe.parent

    def handle_data(self, data):
        self.current.text += data


def table_rows(tree, table_id):
    table = tree.root.by_id(table_id)
    if table is None:
        raise AssertionError(f"no <table id={table_id!r}> in the page")
    bodies = table.find_all(lambda e: e.tag == "tbody")
    if not bodies:
        raise AssertionError(f"<table id={table_id!r}> has no <tbody>")
    return [row for body in bodies for row in body.children if row.tag == "tr"]


def dechunk(data):
    out, rest = b"", data
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, rest = out + rest[:size], rest[size + 2:]


def numeric_or_text(text):
    cleaned = text.strip().replace("%", "").replace(",", "").strip()
    try:
        return (0, float(cleaned))
    except ValueError:
        return (1, text.strip().lower())


def is_sorted(values):
    keys = [numeric_or_text(v) for v in values]
    return keys == sorted(keys) or keys == sorted(keys, reverse=True)


class Fixture:
    """The fixture root and the server on it, made once for the module."""
    tmp = root = server = None
    metrics_path = None
    original_metrics = None


def setUpModule():
    Fixture.tmp = tempfile.TemporaryDirectory(prefix="nn-dashboard-test-")
    root = Fixture.root = os.path.join(Fixture.tmp.name, "root")
    os.makedirs(root)
    dashboard = newest_binary("nn-dashboard", "NN_DASHBOARD_BIN")
    run_nn("train", "--data", DIGITS, "--layers", "16", "--epochs", "2", "--batch", "64", "--seed", "5",
           "--out", os.path.join(root, "digits"), "--no-progress")
    space = os.path.join(Fixture.tmp.name, "space.json")
    with open(space, "w") as f:
        json.dump({"lr": "logUniform(1e-3, 1e-2)", "batch": "choice(32, 64)"}, f)
    run_nn("tune", "--root", os.path.join(root, "tune"), "--study", "s", "--trials", "3", "--space", space,
           "--", "--data", DIGITS, "--epochs", "1", "--layers", "8")
    os.symlink("/etc", os.path.join(root, "escape"))
    linked = os.path.join(root, "linked")
    os.makedirs(linked)
    for name in ("metrics.jsonl", "history.jsonl", "summary.json"):
        os.symlink("/etc/passwd", os.path.join(linked, name))
    Fixture.metrics_path = os.path.join(root, "digits", "metrics.jsonl")
    with open(Fixture.metrics_path) as f:
        Fixture.original_metrics = f.read()
    Fixture.server = Server([dashboard], root, os.path.join(Fixture.tmp.name, "dashboard.stderr"))


def tearDownModule():
    try:
        if Fixture.server is not None:
            Fixture.server.stop(signal.SIGTERM, within=5)
    finally:
        if Fixture.tmp is not None:
            Fixture.tmp.cleanup()


def restore_metrics():
    """Puts back the metrics.jsonl nn wrote, atomically as nn does (temp file, rename)."""
    temporary = Fixture.metrics_path + ".restore"
    with open(temporary, "w") as f:
        f.write(Fixture.original_metrics)
    os.replace(temporary, Fixture.metrics_path)


class DashboardHTTP(unittest.TestCase):
    def get(self, path, expect=200):
        status, headers, body = raw_get(Fixture.server.port, path)
        self.assertEqual(status, expect, f"GET {path}: status {status}, body {body[:300]!r}")
        return headers, body

    def get_json(self, path):
        headers, body = self.get(path)
        self.assertIn("json", headers.get("content-type", ""), f"GET {path}: Content-Type {headers.get('content-type')!r}")
        return json.loads(body)

    def get_html(self, path):
        headers, body = self.get(path)
        self.assertIn("text/html", headers.get("content-type", ""), f"GET {path}: Content-Type {headers.get('content-type')!r}")
        return Tree(body.decode("utf-8"))

    def test_startup_line_names_the_root(self):
        self.assertEqual(os.path.realpath(Fixture.server.served_dir), os.path.realpath(Fixture.root))
        self.assertGreater(Fixture.server.port, 0)

    def test_api_runs_lists_digits(self):
        runs = self.get_json("/api/runs")["runs"]
        by_id = {run["id"]: run for run in runs}
        self.assertIn("digits", by_id, f"/api/runs ids: {sorted(by_id)}")
        self.assertEqual(by_id["digits"]["epochs"], 2)
        self.assertIsInstance(by_id["digits"]["status"], str)
        self.assertTrue(by_id["digits"]["status"])
        self.assertNotIn("escape", by_id, "a link out of the root must not be followed into a run")
        for run_id in by_id:
            self.assertFalse(run_id.startswith("tune/s/trials"), f"a study's trial listed as a run: {run_id}")

    def test_api_run_has_the_epochs_of_metrics_jsonl(self):
        run = self.get_json("/api/runs/digits")
        self.assertEqual(run["id"], "digits")
        with open(Fixture.metrics_path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        self.assertEqual([e["epoch"] for e in run["epochs"]], [1, 2])
        for served, written in zip(run["epochs"], rows):
            for key in ("train_loss", "dev_accuracy"):
                self.assertAlmostEqual(served[key], written[key], places=6, msg=key)

    def test_unknown_run_is_404(self):
        self.get("/api/runs/no-such-run", expect=404)
        self.get("/runs/no-such-run", expect=404)

    def test_runs_page_has_one_row_per_run(self):
        rows = table_rows(self.get_html("/"), "runs-table")
        html_ids = [row.attrs.get("data-run") for row in rows]
        api_ids = [run["id"] for run in self.get_json("/api/runs")["runs"]]
        self.assertIn("digits", html_ids)
        self.assertEqual(sorted(html_ids), sorted(api_ids))

    def test_run_page_has_both_charts(self):
        tree = self.get_html("/runs/digits")
        for chart_id in ("loss-chart", "accuracy-chart"):
            svg = tree.root.by_id(chart_id)
            self.assertIsNotNone(svg, f"no #{chart_id} in /runs/digits")
            self.assertEqual(svg.tag, "svg")
            self.assertIn("curve", svg.classes())
            points = svg.find_all(lambda e: e.tag == "circle" and "point" in e.classes())
            # The charts may be drawn by the page's script (then the browser test counts them); when the
            # server draws them, 2 epochs make 2 points per series, train and dev.
            if points:
                self.assertEqual(len(points), 4, f"#{chart_id}: {len(points)} points served, expected 2 train + 2 dev")

    def test_studies(self):
        # The study is ROOT/tune/s/study.sqlite: its name is s; the listing may give it as s or as its
        # folder under the root, tune/s, and either must lead to the study.
        studies = self.get_json("/api/studies")["studies"]
        ids = [study.get("id", study.get("name")) for study in studies]
        self.assertTrue(set(ids) & {"s", "tune/s"}, f"/api/studies does not list study s: {studies}")
        for study_id in ids:
            self.assertEqual(len(self.get_json(f"/api/studies/{study_id}")["trials"]), 3, study_id)
        trials = self.get_json("/api/studies/s")["trials"]
        self.assertEqual(len(trials), 3)
        studies_page = self.get_html("/studies")
        links = studies_page.root.find_all(
            lambda e: e.tag == "a" and re.search(r"(^|/)studies/(tune/)?s/?$", e.attrs.get("href") or ""))
        self.assertTrue(links, "/studies has no link to /studies/s")
        tree = self.get_html("/studies/s")
        self.assertEqual(len(table_rows(tree, "trials-table")), 3)
        for svg_id in ("best-so-far", "parallel-coordinates"):
            svg = tree.root.by_id(svg_id)
            self.assertIsNotNone(svg, f"no #{svg_id} in /studies/s")
            self.assertEqual(svg.tag, "svg")

    def test_unknown_study_is_404(self):
        self.get("/api/studies/no-such-study", expect=404)

    def test_nothing_outside_the_root_is_served(self):
        paths = [
            "/runs/escape", "/runs/escape/passwd", "/api/runs/escape", "/api/runs/escape/passwd",
            "/runs/..%2f..%2fetc%2fpasswd", "/api/runs/..%2f..%2fetc%2fpasswd",
            "/runs/%2e%2e/%2e%2e/etc", "/runs/%2e%2e/%2e%2e/etc/passwd", "/api/runs/%2e%2e/%2e%2e/etc/passwd",
            "/runs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/runs/%252e%252e/%252e%252e/etc/passwd",
            "/../../etc/passwd", "/runs/../../etc/passwd", "/api/runs/../../../etc/passwd",
            "/runs/digits/../../../../etc/passwd", "/runs//etc/passwd", "/api/runs//etc/passwd",
            "/runs/%2fetc%2fpasswd", "/studies/..%2f..%2f..%2fetc%2fpasswd", "/api/studies/%2e%2e%2f%2e%2e%2fetc",
            "/studies/../../etc/passwd", "/runs/digits%00/../../etc/passwd",
        ]
        for path in paths:
            with self.subTest(path=path):
                status, _, body = raw_get(Fixture.server.port, path)
                self.assertIn(status, (400, 404), f"GET {path}: status {status}, body {body[:200]!r}")
                self.assertNotIn(b"root:", body, f"GET {path} served /etc/passwd")

    def test_links_to_files_outside_the_root_are_not_read(self):
        # ROOT/linked's metrics.jsonl, history.jsonl and summary.json are links to /etc/passwd: whatever
        # the dashboard makes of the folder, it must not show that file's content.
        for path in ("/api/runs", "/", "/api/runs/linked", "/runs/linked"):
            with self.subTest(path=path):
                status, _, body = raw_get(Fixture.server.port, path)
                self.assertIn(status, (200, 400, 404), f"GET {path}: status {status}")
                self.assertNotIn(b"root:", body, f"GET {path} served /etc/passwd through a link")
                self.assertNotIn(b"/bin/bash", body, f"GET {path} served /etc/passwd through a link")

    def test_long_query_string_is_refused(self):
        for path in ("/api/runs?q=" + "a" * 5120, "/?" + "x=1&" * 1300, "/runs/digits?" + "%2e" * 1800):
            with self.subTest(length=len(path)):
                status, _, body = raw_get(Fixture.server.port, path)
                self.assertIn(status, (400, 404), f"GET with a {len(path)}-byte target: status {status}")
                self.assertNotIn(b"root:", body)
        # and the server still answers
        self.get("/api/runs")

    def test_z_load_1000_concurrent_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        needed = LOAD_CONNECTIONS + 200
        if soft < needed:
            if hard != resource.RLIM_INFINITY and hard < needed:
                raise AssertionError(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} descriptors the load test needs")
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        port = Fixture.server.port
        open_now = peak = 0

        async def one(index):
            nonlocal open_now, peak
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            open_now += 1
            peak = max(peak, open_now)
            try:
                writer.write(f"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                body = await (reader.readexactly(int(length[1])) if length else reader.read())
                if not length and re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
                    body = dechunk(body)
                if status == 200:
                    json.loads(body)["runs"]  # the whole document arrived
                return status
            finally:
                open_now -= 1
                writer.close()

        async def guarded(index):
            try:
                return await asyncio.wait_for(one(index), timeout=120)
            except Exception as error:  # reported with the others below
                return f"{type(error).__name__}: {error}"

        async def all_of_them():
            return await asyncio.gather(*(guarded(i) for i in range(LOAD_CONNECTIONS)))

        start = time.perf_counter()
        results = asyncio.run(all_of_them())
        wall = time.perf_counter() - start
        ok = sum(1 for r in results if r == 200)
        print(f"\nload: {LOAD_CONNECTIONS} concurrent GET /api/runs (peak {peak} open connections): {ok} x 200 in "
              f"{wall:.2f} s = {LOAD_CONNECTIONS / wall:.0f} requests/s")
        failures = {}
        for r in results:
            if r != 200:
                failures[str(r)] = failures.get(str(r), 0) + 1
        self.assertEqual(ok, LOAD_CONNECTIONS, f"not every request got 200: {failures}")
        self.assertIsNone(Fixture.server.process.poll(), f"the dashboard died under load; stderr:\n{Fixture.server.stderr()}")
        self.get("/api/runs")


class NNDashboardSubcommand(unittest.TestCase):
    def test_nn_dashboard_serves_and_stops_on_sigint(self):
        server = Server([newest_binary("nn", "NN_BIN"), "dashboard"], Fixture.root,
                        os.path.join(Fixture.tmp.name, "nn-dashboard.stderr"))
        try:
            self.assertNotEqual(server.port, Fixture.server.port)
            status, _, body = raw_get(server.port, "/api/runs")
            self.assertEqual(status, 200)
            self.assertIn("digits", [run["id"] for run in json.loads(body)["runs"]])
        finally:
            server.stop(signal.SIGINT, within=5)


def chrome():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        raise AssertionError(f"selenium is not importable by {sys.executable} ({error}); {INSTALL_HINT}") from None
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise AssertionError(f"{path} is missing; {INSTALL_HINT}")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as error:
        raise AssertionError(f"could not start headless Chromium through {CHROMEDRIVER}: {error}; {INSTALL_HINT}") from None


class DashboardInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.output = os.environ.get("NN_TEST_OUTPUT") or os.path.join(REPO, ".build", "test-output", "dashboard")
        os.makedirs(cls.output, exist_ok=True)
        cls.driver = chrome()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def wait(self, condition, seconds, message):
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.common.exceptions import TimeoutException
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(lambda d: condition())
        except TimeoutException:
            raise AssertionError(message() if callable(message) else message) from None

    def count(self, selector):
        from selenium.webdriver.common.by import By
        return len(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def screenshot(self, name):
        path = os.path.join(self.output, name)
        self.assertTrue(self.driver.save_screenshot(path), path)
        self.assertGreater(os.path.getsize(path), 1000, f"{path} is (nearly) empty")
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", f"{path} is no PNG")
        print(f"\nscreenshot: {path}")

    def browser_errors(self):
        try:
            return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:
            return []

    def test_runs_page(self):
        from selenium.webdriver.common.by import By
        self.driver.get(Fixture.server.base + "/")
        self.wait(lambda: self.count("table#runs-table tbody tr") > 0, 10, "no rows in table#runs-table")
        ids = [row.get_attribute("data-run") for row in self.driver.find_elements(By.CSS_SELECTOR, "table#runs-table tbody tr")]
        self.assertIn("digits", ids)
        api_ids = [run["id"] for run in json.loads(raw_get(Fixture.server.port, "/api/runs")[2])["runs"]]
        self.assertEqual(sorted(ids), sorted(api_ids))
        self.screenshot("runs.png")

    def test_run_page_updates_live(self):
        loss, accuracy = "svg#loss-chart circle.point", "svg#accuracy-chart circle.point"
        self.driver.get(Fixture.server.base + "/runs/digits")
        try:
            self.wait(lambda: self.count(loss) == 4 and self.count(accuracy) == 4, 10,
                      lambda: f"expected 4 points (2 train + 2 dev) in each chart, got loss {self.count(loss)}, "
                              f"accuracy {self.count(accuracy)}; browser errors: {self.browser_errors()}")
            self.assertEqual(self.count("svg.curve#loss-chart"), 1)
            self.assertEqual(self.count("svg.curve#accuracy-chart"), 1)
            self.screenshot("run-digits.png")
            rows = [json.loads(line) for line in Fixture.original_metrics.splitlines() if line.strip()]
            third = dict(rows[-1])
            third["epoch"] = 3
            third["step"] = rows[-1]["step"] + (rows[-1]["step"] - (rows[-2]["step"] if len(rows) > 1 else 0))
            third["train_loss"] = third["train_cost"] = rows[-1]["train_loss"] * 0.9
            if third.get("dev_loss") is not None:
                third["dev_loss"] = rows[-1]["dev_loss"] * 0.9
            if third.get("dev_accuracy") is not None:
                third["dev_accuracy"] = min(1.0, rows[-1]["dev_accuracy"] + 0.05)
            third["train_accuracy"] = min(1.0, rows[-1]["train_accuracy"] + 0.05)
            appended_at = time.monotonic()
            with open(Fixture.metrics_path, "a") as f:
                f.write(json.dumps(third) + "\n")
            self.wait(lambda: self.count(loss) == 6 and self.count(accuracy) == 6, 10,
                      lambda: f"10 s after epoch 3 was appended to metrics.jsonl the charts have loss "
                              f"{self.count(loss)}, accuracy {self.count(accuracy)} points (expected 6 each)")
            print(f"\nlive update: epoch 3 drawn {time.monotonic() - appended_at:.1f} s after it was appended")
            self.screenshot("run-digits-epoch3.png")
        finally:
            restore_metrics()

    def test_study_page_sorts(self):
        from selenium.webdriver.common.by import By
        self.driver.get(Fixture.server.base + "/studies/s")
        rows_selector = "table#trials-table tbody tr"
        self.wait(lambda: self.count(rows_selector) == 3, 10, lambda: f"expected 3 trial rows, got {self.count(rows_selector)}")
        self.assertEqual(self.count("svg#best-so-far"), 1)
        self.assertEqual(self.count("svg#parallel-coordinates"), 1)
        self.screenshot("study-s.png")

        headers = self.driver.find_elements(By.CSS_SELECTOR, "table#trials-table thead th") or \
            self.driver.find_elements(By.CSS_SELECTOR, "table#trials-table th")
        self.assertTrue(headers, "table#trials-table has no <th>")
        names = [h.text.strip() for h in headers]

        def column(index):
            return [row.find_elements(By.CSS_SELECTOR, "td, th")[index].text
                    for row in self.driver.find_elements(By.CSS_SELECTOR, rows_selector)]

        def row_keys():
            return [row.text for row in self.driver.find_elements(By.CSS_SELECTOR, rows_selector)]

        # Sort by a column whose three values differ (lr is drawn from a continuous distribution), so that
        # "sorted" says something; prefer lr, then dev accuracy.
        preferred = sorted(range(len(names)), key=lambda i: (
            0 if re.search(r"\blr\b|learning", names[i], re.I) else 1 if re.search(r"dev", names[i], re.I) else 2, i))
        index = next((i for i in preferred if len(set(column(i))) == 3), None)
        self.assertIsNotNone(index, f"no column with 3 distinct values among {names}")
        before = row_keys()
        headers[index].click()
        self.wait(lambda: is_sorted(column(index)), 5,
                  lambda: f"after clicking <th> {names[index]!r} its column reads {column(index)}, not sorted")
        first = column(index)
        headers = self.driver.find_elements(By.CSS_SELECTOR, "table#trials-table thead th") or \
            self.driver.find_elements(By.CSS_SELECTOR, "table#trials-table th")
        headers[index].click()
        self.wait(lambda: is_sorted(column(index)), 5,
                  lambda: f"after a second click on {names[index]!r} its column reads {column(index)}, not sorted")
        second = column(index)
        print(f"\nsort by {names[index]!r}: before {before}; 1st click {first}; 2nd click {second}")
        self.assertEqual(sorted(before), sorted(row_keys()), "sorting lost or changed rows")
        self.screenshot("study-s-sorted.png")


if __name__ == "__main__":
    unittest.main()
