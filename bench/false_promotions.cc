// bench/false_promotions: how often the promotion rules let a model with no
// skill through, how well the holdout p-value is calibrated, and what power
// is left — measured over many synthetic nights, never one.
//
// A night here is what `nightshift run` does to each study, in one process
// and without the bus: the same synthetic generator the demo uses (GARCH
// random walks, stages/fetcher/synthetic_source.h), the shipped bar counts
// per timeframe (fetcher.history_days[_by_timeframe]), the shipped CV
// (purged 5-fold, 30 min embargo, 20 % holdout), a search of --trials values
// of C picked by out-of-fold AUC, one final fit on the untouched holdout, the
// per-study gates, then Benjamini-Hochberg at promote_if.fdr_q over all the
// night's studies. Null nights have no planted signal; power nights plant an
// AR(1) signal of the given strength in every series.
//
// Printed per horizon: null studies, the share promoted (FDR), the share
// that passed the per-study gates alone, the share of p < 0.05, the variance
// of z = Phi^-1(1 - p) and a Kolmogorov-Smirnov test of p against uniform —
// for the calibrated p-value and, as the peer measured in the same run, the
// naive one that takes holdout rows as independent. Then power per horizon
// and strength. Seeds start at 9001 (unit tests use 1..20, 101, 202, 7700+).
//
// --model chooses the family: logreg_l2 (the default: --trials values of C),
// xgb (--trials points of a fixed list of xgb params), or both: every study
// is run by both families on the same bars, each family's nights decided by
// BH on their own, and the tables are printed per family, then the null
// promotion rates side by side with their counts. --check-xgb-not-above
// (with --model both) exits 3 when xgb's null promotions, or its null
// studies passing the per-study gates, exceed the logistic ones by more
// than 2.58 sqrt(x + l) + 1 (about a one-sided 0.5 % test of equal Poisson
// rates).
//
// Usage: bench_false_promotions [--nights N] [--power-nights N] [--symbols N]
//        [--trials N] [--threads N] [--first-seed S] [--csv FILE]
//        [--model logreg_l2|xgb|both] [--check-xgb-not-above]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fdr.h"
#include "config/config.h"
#include "stages/fetcher/synthetic_source.h"
#include "stages/trainer/features.h"
#include "stages/trainer/labels.h"
#include "stages/trainer/metrics.h"
#include "stages/trainer/promotion.h"
#include "stages/trainer/trial.h"

namespace ns = nightshift;
namespace tr = nightshift::trainer;

namespace {

struct Options {
  int nights = 4;
  int power_nights = 2;
  int symbols = 10;
  int trials = 4;
  int threads = 0;
  uint64_t first_seed = 9001;
  std::string csv;
  std::string model = "logreg_l2";
  bool check_xgb = false;
};

struct Study {
  std::string model = "logreg_l2";
  int night = 0;
  double strength = 0;
  std::string symbol;
  std::string timeframe;
  int horizon = 1;
  uint64_t seed = 0;
  // outcome
  bool ok = false;
  std::string error;
  double auc = NAN, p = NAN, naive_p = NAN, z = NAN, naive_z = NAN;
  bool gates_passed = false;
  double q = NAN;
  bool promoted = false;
  double final_s = 0;  // the final fit's wall time, holdout test included
  double test_s = 0;   // the holdout test alone, on the same number of rows
};

const std::vector<std::string> kTimeframes = {"15m", "1h", "4h", "1d"};
const std::vector<int> kHorizons = {1, 3, 5};

int64_t bars_for(const ns::config::Config& config, const std::string& timeframe) {
  int days = config.fetcher.history_days;
  auto it = config.fetcher.history_days_by_timeframe.find(timeframe);
  if (it != config.fetcher.history_days_by_timeframe.end()) days = it->second;
  return static_cast<int64_t>(days) * 1440 / ns::config::timeframe_minutes(timeframe);
}

// Trial i of `trials` of a study of `model`.
std::map<std::string, double> search_point(const std::string& model, int i, int trials) {
  if (model == "xgb") {
    static const std::vector<std::map<std::string, double>> points = {
        {{"eta", 0.1}, {"max_depth", 3}},
        {{"eta", 0.03}, {"max_depth", 2}, {"n_rounds", 300}},
        {{"eta", 0.3}, {"max_depth", 5}, {"min_child_weight", 10}},
        {{"eta", 0.1}, {"max_depth", 2}, {"subsample", 1}, {"colsample_bytree", 1}},
    };
    return points[static_cast<std::size_t>(i) % points.size()];
  }
  return {{"C", std::pow(10.0, -2.0 + 3.0 * (trials == 1 ? 1.0 : static_cast<double>(i) / (trials - 1)))}};
}

void run_study(Study& s, const ns::config::Config& config, int trials) {
  const int minutes = ns::config::timeframe_minutes(s.timeframe);
  ns::fetcher::SyntheticSpec spec;
  spec.symbol = s.symbol;
  spec.timeframe_minutes = minutes;
  spec.bar_count = bars_for(config, s.timeframe);
  spec.seed = s.seed;
  spec.signal_strength = s.strength;
  ns::Bars bars = ns::fetcher::generate_synthetic(spec);
  tr::FeatureMatrix features = tr::compute_features(bars, tr::default_feature_spec(), minutes);
  std::vector<double> labels = tr::make_labels(bars.close, static_cast<std::size_t>(s.horizon));
  tr::TrialSpec trial;
  trial.horizon = static_cast<std::size_t>(s.horizon);
  trial.cv.scheme = ns::CvScheme::purged_kfold;
  trial.cv.n_splits = config.n_splits;
  trial.cv.horizon = trial.horizon;
  trial.cv.embargo_bars = tr::embargo_bars(config.embargo_minutes, minutes, trial.horizon);
  trial.holdout_fraction = config.holdout_fraction;
  trial.model = s.model;
  // The search: C on a log grid (or a list of xgb points), best out-of-fold
  // AUC wins (the holdout is not touched until the final fit).
  double best_auc = -1;
  std::map<std::string, double> best;
  for (int i = 0; i < trials; ++i) {
    trial.params = search_point(s.model, i, trials);
    auto outcome = tr::run_trial({features, labels}, trial);
    if (!outcome) {
      s.error = outcome.error();
      return;
    }
    double auc = outcome->oof_metrics["auc"];
    if (auc > best_auc) {
      best_auc = auc;
      best = trial.params;
    }
  }
  trial.params = best;
  auto started = std::chrono::steady_clock::now();
  auto fit = tr::run_final({features, labels}, trial);
  s.final_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!fit) {
    s.error = fit.error();
    return;
  }
  const auto& m = fit->holdout_metrics;
  s.auc = m.at("auc");
  s.p = m.at("auc_p_value");
  s.naive_p = m.at("auc_p_value_naive");
  s.z = m.at("auc_z");
  // z with rows taken as independent: the same AUC over the unscaled sd.
  s.naive_z = s.z * std::sqrt(m.at("auc_variance_ratio"));
  s.gates_passed = tr::judge_gates(m, config.promote_if).passed;
  // What the test costs: the same test again on as many rows (scores and
  // labels drawn here), timed alone.
  const auto rows = static_cast<Eigen::Index>(fit->holdout_rows);
  Eigen::VectorXd scores = Eigen::VectorXd::Random(rows), ys(rows);
  for (Eigen::Index i = 0; i < rows; ++i) ys(i) = scores((i * 7919) % rows) > 0 ? 1.0 : 0.0;
  started = std::chrono::steady_clock::now();
  volatile double sink = tr::holdout_auc_test(ys, scores, static_cast<std::size_t>(s.horizon)).p_value;
  (void)sink;
  s.test_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  s.ok = true;
}

// Kolmogorov-Smirnov test of `p` against U(0, 1): the p-value of the
// statistic (asymptotic distribution with Stephens' small-sample factor).
double ks_p_value(std::vector<double> p) {
  if (p.empty()) return NAN;
  std::sort(p.begin(), p.end());
  const double n = static_cast<double>(p.size());
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    d = std::max({d, (static_cast<double>(i) + 1) / n - p[i], p[i] - static_cast<double>(i) / n});
  }
  const double lambda = (std::sqrt(n) + 0.12 + 0.11 / std::sqrt(n)) * d;
  double sum = 0;
  for (int k = 1; k < 200; ++k) {
    sum += (k % 2 == 1 ? 2.0 : -2.0) * std::exp(-2.0 * k * k * lambda * lambda);
  }
  return std::clamp(sum, 0.0, 1.0);
}

double variance(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  double mean = 0, ss = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}

double share(const std::vector<const Study*>& studies, bool (*pred)(const Study&)) {
  if (studies.empty()) return NAN;
  double n = 0;
  for (const Study* s : studies) n += pred(*s) ? 1 : 0;
  return n / static_cast<double>(studies.size());
}

// Wilson 95 % interval of a proportion, as "[lo, hi]".
std::string wilson(double share, std::size_t n) {
  if (n == 0) return "[-]";
  const double z = 1.96, nn = static_cast<double>(n);
  const double centre = (share + z * z / (2 * nn)) / (1 + z * z / nn);
  const double half = z * std::sqrt(share * (1 - share) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn);
  char text[48];
  std::snprintf(text, sizeof text, "[%.3f, %.3f]", std::max(0.0, centre - half), std::min(1.0, centre + half));
  return text;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_false_promotions: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--nights") o.nights = std::stoi(next());
    else if (a == "--power-nights") o.power_nights = std::stoi(next());
    else if (a == "--symbols") o.symbols = std::stoi(next());
    else if (a == "--trials") o.trials = std::stoi(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--first-seed") o.first_seed = std::stoull(next());
    else if (a == "--csv") o.csv = next();
    else if (a == "--model") o.model = next();
    else if (a == "--check-xgb-not-above") o.check_xgb = true;
    else {
      std::fprintf(stderr, "bench_false_promotions: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.model != "logreg_l2" && o.model != "xgb" && o.model != "both") {
    std::fprintf(stderr, "bench_false_promotions: --model is logreg_l2, xgb or both\n");
    std::exit(2);
  }
  if (o.check_xgb && o.model != "both") {
    std::fprintf(stderr, "bench_false_promotions: --check-xgb-not-above needs --model both\n");
    std::exit(2);
  }
  if (o.nights < 0 || o.power_nights < 0 || o.symbols < 1 || o.trials < 1) {
    std::fprintf(stderr, "bench_false_promotions: counts must be positive\n");
    std::exit(2);
  }
  return o;
}

struct NullCounts {
  std::size_t promoted = 0, gates_passed = 0, studies = 0;
};

// The tables of one model family; returns its null counts.
NullCounts report(const std::vector<Study>& all, const std::string& model,
                                           const Options& options, const ns::config::Config& config) {
  std::vector<Study> studies;
  for (const auto& s : all) {
    if (s.model == model) studies.push_back(s);
  }
  std::printf("\n== model %s ==\n", model.c_str());
  std::printf("null nights: %d x %d symbols x %zu timeframes (15m 1h 4h 1d) x horizons 1 3 5; "
              "%d trials per study; FDR q %.2f; max_auc_p_value %.2f\n",
              options.nights, options.symbols, kTimeframes.size(), options.trials,
              config.promote_if.fdr_q, config.promote_if.max_auc_p_value);
  std::printf("%-8s %6s %9s %18s %9s | %8s %7s %9s | %8s %7s %9s\n", "horizon", "null", "promoted",
              "95% CI", "gates", "p<0.05", "var z", "KS p", "naive<.05", "var z", "KS p");
  std::vector<const Study*> all_null;
  for (int h : kHorizons) {
    std::vector<const Study*> null;
    std::vector<double> p, naive_p, z, naive_z;
    for (const auto& s : studies) {
      if (s.ok && s.strength == 0 && s.horizon == h) {
        null.push_back(&s);
        all_null.push_back(&s);
        p.push_back(s.p);
        naive_p.push_back(s.naive_p);
        z.push_back(s.z);
        naive_z.push_back(s.naive_z);
      }
    }
    double promoted = share(null, [](const Study& s) { return s.promoted; });
    std::printf("h%-7d %6zu %9.4f %18s %9.4f | %8.4f %7.3f %9.3g | %8.4f %7.3f %9.3g\n", h, null.size(),
                promoted, wilson(promoted, null.size()).c_str(),
                share(null, [](const Study& s) { return s.gates_passed; }),
                share(null, [](const Study& s) { return s.p < 0.05; }), variance(z), ks_p_value(p),
                share(null, [](const Study& s) { return s.naive_p < 0.05; }), variance(naive_z),
                ks_p_value(naive_p));
  }
  double total = share(all_null, [](const Study& s) { return s.promoted; });
  std::printf("%-8s %6zu %9.4f %18s %9.4f\n", "all", all_null.size(), total,
              wilson(total, all_null.size()).c_str(),
              share(all_null, [](const Study& s) { return s.gates_passed; }));
  NullCounts counts;
  counts.studies = all_null.size();
  for (const Study* s : all_null) {
    counts.promoted += s->promoted ? 1 : 0;
    counts.gates_passed += s->gates_passed ? 1 : 0;
  }
  std::printf("\npower (share promoted; nights where every series has the planted signal)\n");
  std::printf("%-9s %24s %24s %24s\n", "strength", "h1  (95% CI)", "h3  (95% CI)", "h5  (95% CI)");
  for (double strength : {0.1, 0.2}) {
    std::printf("%-9.1f", strength);
    for (int h : kHorizons) {
      std::vector<const Study*> group;
      for (const auto& s : studies) {
        if (s.ok && s.strength == strength && s.horizon == h) group.push_back(&s);
      }
      const double promoted = share(group, [](const Study& s) { return s.promoted; });
      std::printf(" %6.3f %17s", promoted, wilson(promoted, group.size()).c_str());
    }
    std::printf("   (%d nights, %d studies per cell)\n", options.power_nights,
                options.power_nights * options.symbols * static_cast<int>(kTimeframes.size()));
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const ns::config::Config config;  // the shipped defaults
  std::vector<Study> studies;
  auto plan_night = [&](int night, double strength, uint64_t seed) {
    for (int sym = 0; sym < options.symbols; ++sym) {
      for (const auto& tf : kTimeframes) {
        for (int h : kHorizons) {
          for (const auto& model : options.model == "both" ? std::vector<std::string>{"logreg_l2", "xgb"}
                                                           : std::vector<std::string>{options.model}) {
          Study s;
          s.model = model;
          s.night = night;
          s.strength = strength;
          s.symbol = "NULL" + std::to_string(sym);
          s.timeframe = tf;
          s.horizon = h;
          s.seed = seed;
          studies.push_back(s);
          }
        }
      }
    }
  };
  int night = 0;
  uint64_t seed = options.first_seed;
  for (int i = 0; i < options.nights; ++i) plan_night(night++, 0.0, seed++);
  for (double strength : {0.1, 0.2}) {
    for (int i = 0; i < options.power_nights; ++i) plan_night(night++, strength, seed++);
  }
  const unsigned threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                               : std::max(1u, std::thread::hardware_concurrency());
  std::fprintf(stderr, "false_promotions: %zu studies in %d nights on %u threads\n", studies.size(),
               night, threads);
  std::atomic<std::size_t> next{0}, finished{0};
  std::mutex print;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < studies.size(); i = next++) {
        run_study(studies[i], config, options.trials);
        std::size_t done = ++finished;
        if (done % 60 == 0) {
          std::lock_guard lock(print);
          std::fprintf(stderr, "  %zu/%zu studies\n", done, studies.size());
        }
      }
    });
  }
  for (auto& t : pool) t.join();

  // The night's promotions: BH over every tested study of the night.
  for (int n = 0; n < 2 * night; ++n) {
    const std::string model = n % 2 == 0 ? "logreg_l2" : "xgb";
    std::vector<std::size_t> members;
    std::vector<double> p;
    for (std::size_t i = 0; i < studies.size(); ++i) {
      if (studies[i].night == n / 2 && studies[i].model == model && studies[i].ok) {
        members.push_back(i);
        p.push_back(studies[i].p);
      }
    }
    auto q = ns::benjamini_hochberg(p);
    for (std::size_t k = 0; k < members.size(); ++k) {
      Study& s = studies[members[k]];
      s.q = q[k];
      s.promoted = s.gates_passed && std::isfinite(q[k]) && q[k] <= config.promote_if.fdr_q;
    }
  }
  std::size_t failed = 0;
  for (const auto& s : studies) failed += s.ok ? 0 : 1;
  if (failed > 0) {
    for (const auto& s : studies) {
      if (!s.ok) std::fprintf(stderr, "  %s %s h%d: %s\n", s.symbol.c_str(), s.timeframe.c_str(), s.horizon, s.error.c_str());
    }
  }

  const std::vector<std::string> models =
      options.model == "both" ? std::vector<std::string>{"logreg_l2", "xgb"} : std::vector<std::string>{options.model};
  std::map<std::string, NullCounts> null_counts;
  for (const auto& model : models) null_counts[model] = report(studies, model, options, config);
  if (models.size() > 1) {
    std::printf("\nnull studies, same bars for both families: promoted (FDR) | passed the per-study gates\n");
    for (const auto& model : models) {
      const NullCounts& c = null_counts[model];
      const double n = static_cast<double>(c.studies);
      const double promoted = c.studies > 0 ? static_cast<double>(c.promoted) / n : NAN;
      const double gates = c.studies > 0 ? static_cast<double>(c.gates_passed) / n : NAN;
      std::printf("  %-10s %zu / %zu = %.4f %s | %zu / %zu = %.4f %s\n", model.c_str(), c.promoted, c.studies,
                  promoted, wilson(promoted, c.studies).c_str(), c.gates_passed, c.studies, gates,
                  wilson(gates, c.studies).c_str());
    }
  }
  double final_total = 0, test_total = 0;
  for (const auto& s : studies) {
    final_total += s.final_s;
    test_total += s.test_s;
  }
  std::printf("\nholdout test cost: %.1f us per study on average, %.2f %% of a final fit's wall time "
              "(%.1f ms)\n", 1e6 * test_total / static_cast<double>(studies.size()),
              100 * test_total / final_total, 1e3 * final_total / static_cast<double>(studies.size()));
  if (failed > 0) std::printf("\n%zu studies failed (listed on stderr)\n", failed);
  if (!options.csv.empty()) {
    std::ofstream out(options.csv);
    out << "night,strength,symbol,timeframe,horizon,seed,ok,auc,p,naive_p,z,naive_z,gates_passed,q,promoted,model\n";
    for (const auto& s : studies) {
      out << s.night << ',' << s.strength << ',' << s.symbol << ',' << s.timeframe << ',' << s.horizon
          << ',' << s.seed << ',' << s.ok << ',' << s.auc << ',' << s.p << ',' << s.naive_p << ','
          << s.z << ',' << s.naive_z << ',' << s.gates_passed << ',' << s.q << ',' << s.promoted << ','
          << s.model << '\n';
    }
  }
  if (failed > 0) return 1;
  if (options.check_xgb) {
    // Promotions under the null are rare by design (FDR), so the per-study
    // gate passes, about 5 % each, carry most of the evidence.
    bool pass = true;
    for (auto [what, field] : {std::pair{"promoted", &NullCounts::promoted},
                               std::pair{"gates passed", &NullCounts::gates_passed}}) {
      const double x = static_cast<double>(null_counts["xgb"].*field);
      const double l = static_cast<double>(null_counts["logreg_l2"].*field);
      const double allowed = l + 2.58 * std::sqrt(x + l) + 1;
      std::printf("check: xgb null studies %s %.0f <= %.1f (logistic %.0f + 2.58 sqrt(x + l) + 1): %s\n", what, x,
                  allowed, l, x <= allowed ? "pass" : "FAIL");
      pass = pass && x <= allowed;
    }
    if (!pass) return 3;
  }
  return 0;
}
