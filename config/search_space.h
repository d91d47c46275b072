// Search spaces: per model family, the hyperparameters a study tunes and the
// range of each. The families and their parameter names are listed here, so
// `config validate` refuses a model or a parameter the trainer does not know
// (stages/trainer/model_registry.cc makes the same families; a trainer test
// holds the two lists together).
//
// In YAML (`search.<model>.<param>`):
//   C: {type: float, low: 0.001, high: 100, log: true, values: [0.01, 1, 10]}
// type float or int: a range [low, high], log-scaled when `log`; `values`
// are the grid sampler's points (empty: 5 points spread over the range).
// type categorical: one of `values` (numbers: params are numbers on the wire).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nightshift::config {

struct ParamSpace {
  std::string type = "float";  // float, int, categorical
  double low = 0;
  double high = 1;
  bool log = false;
  std::vector<double> values;  // categorical: the choices; else the grid points

  bool operator==(const ParamSpace&) const = default;
};

using ModelSpace = std::map<std::string, ParamSpace>;  // parameter -> its space

struct ModelFamily {
  std::string name;
  std::vector<std::string> params;         // every parameter the trainer accepts
  std::map<std::string, double> defaults;  // what trial 0 of a random or TPE study tries
  ModelSpace space;                        // the shipped search space
};

const std::vector<ModelFamily>& model_families();
const ModelFamily* find_model_family(const std::string& name);
std::vector<std::string> model_names();
std::map<std::string, ModelSpace> default_search_spaces();

// The grid sampler's points of one parameter, ascending and distinct.
std::vector<double> grid_points(const ParamSpace& space);

class ConfigReader;
// Reads `search` (a mapping model -> parameter -> space) over `spaces`.
void read_search(ConfigReader& r, std::map<std::string, ModelSpace>& spaces);

}  // namespace nightshift::config
