import os, re, signal, subprocess, sys, time, json, shutil
import requests
sys.path.insert(0, "/work/wt/tail")
from capacity.accounts import PoolSpec, create_pool
from comprimemelo import cli
PY = "/work/wt/tail/.venv/bin/python"
D = "/tmp/tailbench"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
env = {k: v for k, v in os.environ.items() if not k.startswith("COMPRIMEMELO_")}
env.update(COMPRIMEMELO_DATA_DIR=f"{D}/data", COMPRIMEMELO_RATE_LIMITS="off")

def start(cmd, port, extra_env=None, cwd="/work/wt/tail"):
    e = dict(env, COMPRIMEMELO_PORT=str(port), **(extra_env or {}))
    p = subprocess.Popen(cmd, env=e, cwd=cwd, stdout=open(f"{D}/server-{port}.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/tasks", timeout=2, headers={"Authorization": "Bearer x"}).status_code in (200, 401):
                return p
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(cmd)

def stop(p):
    os.killpg(p.pid, signal.SIGTERM); p.wait(40)

if not os.path.exists(f"{D}/token"):
    shutil.rmtree(f"{D}/data", ignore_errors=True)
    p = start([PY, "-m", "comprimemelo", "serve"], 18100)
    try:
        pool = create_pool("http://127.0.0.1:18100", "tail", PoolSpec(1, 20))
        open(f"{D}/token", "w").write(pool[0].token)
    finally:
        stop(p)
token = open(f"{D}/token").read().strip()
open(f"{D}/auth.lua", "w").write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')

def gopts(worker):
    return ["--workers", "2", "--worker-class", worker, "--timeout", str(cli.GUNICORN_TIMEOUT_SECONDS),
            "--graceful-timeout", str(cli.GUNICORN_GRACEFUL_TIMEOUT_SECONDS), "--keep-alive", str(cli.GUNICORN_KEEPALIVE_SECONDS), "--no-control-socket"]
CUR = "comprimemelo.server.gunicorn_gevent.GeventWorker"
FAIR = "comprimemelo.server.gunicorn_gevent.FairGeventWorker"
configs = {
    "service-current": lambda port: [PY, f"{D}/launch_web.py", "current"],
    "service-fair": lambda port: [PY, f"{D}/launch_web.py", "fair"],
    "service-fair-w3": lambda port: [PY, f"{D}/launch_web.py", "fair"],
    "service-current-w3": lambda port: [PY, f"{D}/launch_web.py", "current"],
    "bare-current": lambda port: [PY, "-m", "gunicorn", *gopts(CUR), "--bind", f"127.0.0.1:{port}", "capacity.bareapp:app"],
    "bare-fair": lambda port: [PY, "-m", "gunicorn", *gopts(FAIR), "--bind", f"127.0.0.1:{port}", "capacity.bareapp:app"],
    "bare-fair4": lambda port: [PY, "-m", "gunicorn", *gopts("fair4.Fair4"), "--pythonpath", D, "--bind", f"127.0.0.1:{port}", "capacity.bareapp:app"],
    "seed": lambda port: [PY, "-m", "gunicorn", "--workers", "4", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--chdir", D, "seedapp:app"],
}
only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(configs)
port = 18200
for r in range(ROUNDS):
    order = only if r % 2 == 0 else list(reversed(only))
    for name in order:
        if name == "seed" and r > 0:
            continue
        port += 1
        p = start(configs[name](port), port, {"SEED_DB": f"{D}/seed.db", **({"COMPRIMEMELO_WEB_WORKERS": "3"} if name.endswith("-w3") else {})})
        try:
            load = open("/proc/loadavg").read().split()[0]
            out = subprocess.run(["wrk", "-t2", "-c1000", "-d20s", "--latency", "--timeout", "10s", "-s", f"{D}/auth.lua",
                                  f"http://127.0.0.1:{port}/api/tasks"], capture_output=True, text=True).stdout
        finally:
            stop(p)
        open(f"{D}/wrk-{os.environ.get('TAG','')}{r}-{name}.txt", "w").write(out)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
        errs = re.search(r"Socket errors:.*", out)
        non2xx = re.search(r"Non-2xx.*", out)
        print(json.dumps({"round": r, "name": name, "load1": load, "rps": rps and rps.group(1), **lat,
                          "socket": errs and errs.group(0), "non2xx": non2xx and non2xx.group(0)}), flush=True)
        time.sleep(3)
