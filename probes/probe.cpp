#include "probes/probe.hpp"

#include "probes/cuda/backend.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit {

ProbeRegistry& ProbeRegistry::instance() {
  static ProbeRegistry registry;
  return registry;
}

void ProbeRegistry::add(ProbeFactory factory) {
  factories_.push_back(std::move(factory));
  roles_.reset();
}

std::vector<std::unique_ptr<Probe>> ProbeRegistry::all() const {
  std::vector<std::unique_ptr<Probe>> probes;
  for (const auto& f : factories_) probes.push_back(f());
  std::sort(probes.begin(), probes.end(),
            [](const auto& a, const auto& b) { return a->name() < b->name(); });
  return probes;
}

const RoleMap& ProbeRegistry::roles() const {
  if (!roles_) {
    RoleMap out;
    for (const auto& factory : factories_) {
      const auto p = factory();
      out.emplace(std::string(p->name()), p->role());
    }
    roles_ = std::move(out);
  }
  return *roles_;
}

std::vector<std::unique_ptr<Probe>> ProbeRegistry::select(const std::vector<std::string>& names) const {
  std::vector<std::unique_ptr<Probe>> chosen;
  std::vector<std::string> chosen_names;
  std::vector<std::string> unknown;
  for (const auto& raw : names) {
    std::string pattern = raw;
    const bool prefix = !pattern.empty() && (pattern.back() == '*' || pattern.back() == '.');
    if (!pattern.empty() && pattern.back() == '*') pattern.pop_back();
    bool matched = false;
    for (auto& p : all()) {
      const std::string n(p->name());
      const bool hit = prefix ? n.starts_with(pattern) : n == pattern;
      if (!hit) continue;
      matched = true;
      if (std::find(chosen_names.begin(), chosen_names.end(), n) != chosen_names.end()) continue;
      chosen_names.push_back(n);
      chosen.push_back(std::move(p));
    }
    if (!matched) unknown.push_back(raw);
  }
  if (!unknown.empty()) {
    std::vector<std::string> known;
    for (const auto& p : all()) known.emplace_back(p->name());
    // A cuda.* name in a build without the backend is known, just not here: say why.
    const bool cuda_asked = std::any_of(unknown.begin(), unknown.end(), [](const std::string& n) { return n.starts_with("cuda."); });
    const std::string why = cuda_asked && !cuda::built() ? "; " + cuda::list_devices().skipped : "";
    throw Error(fmt::format("unknown probe{} '{}' (known: {}){}", unknown.size() > 1 ? "s" : "",
                            fmt::join(unknown, "', '"), fmt::join(known, ", "), why));
  }
  return chosen;
}

}  // namespace roofaudit
