"""The head's night config both scale-out tests use: two symbols on the
synthetic source, short leases, CURVE on with the keys under `folder`/keys,
bus and dataset endpoints on `host` at `ports` (events_in ... control,
dataset)."""


def head_config(folder, host, ports, trials, history_days, bus_extra=""):
    bus = "\n".join(f"  {k}: tcp://{host}:{p}" for k, p in ports.items() if k != "dataset")
    return f"""\
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1, 3]
n_splits: 3
bus:
{bus}
{bus_extra}fetcher:
  source: synthetic
  history_days: {history_days}
  dataset_endpoint: tcp://{host}:{ports['dataset']}
scheduler:
  trials_per_study: {trials}
  lease_s: 6
  grace_s: 3
  job_timeout_s: 5
telemetry:
  enabled: false
storage:
  results_db: {folder}/head/nightshift.db
  market_db: {folder}/head/market.db
  artifacts_dir: {folder}/head/models
  backups_dir: {folder}/head/backups
security:
  curve: true
  keys_dir: {folder}/keys
  secret_key_file: {folder}/keys/head.key_secret
  server_key_file: {folder}/keys/head.key
  authorized_keys_dir: {folder}/keys/authorized
"""
