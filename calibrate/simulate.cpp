#include "calibrate/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <functional>
#include <limits>
#include <queue>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "calibrate/serving.hpp"
#include "values/error.hpp"
#include "values/user_file.hpp"

namespace roofaudit::calibrate {
namespace {

struct Request {
  double arrival = 0;
  std::int64_t prompt = 0, decode = 0;
  double ready = 0;        // disaggregated: when its prefill is done (its first token)
  std::int64_t prefilled = 0;
  std::int64_t generated = 0;
  double first_token = -1, finished = -1;
};

std::int64_t draw(const LengthDistribution& dist, std::int64_t median, std::mt19937_64& rng) {
  switch (dist.kind) {
    case LengthDistribution::Kind::exponential: {
      std::exponential_distribution<double> e(std::log(2.0) / double(median));
      return std::max<std::int64_t>(1, std::llround(e(rng)));
    }
    case LengthDistribution::Kind::lognormal: {
      std::lognormal_distribution<double> l(std::log(double(median)), dist.sigma);
      return std::max<std::int64_t>(1, std::llround(l(rng)));
    }
    default: return median;
  }
}

std::vector<Request> arrivals(const Deployment& d, const SimulationSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  std::exponential_distribution<double> gap(spec.qps);
  std::vector<Request> out(std::size_t(spec.requests));
  double t = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    t += gap(rng);
    Request& r = out[i];
    r.arrival = t;
    if (!spec.trace.empty()) {
      const auto& [p, n] = spec.trace[i % spec.trace.size()];
      r.prompt = p;
      r.decode = n;
    } else {
      r.prompt = draw(spec.prompt, d.prompt_len, rng);
      r.decode = draw(spec.decode, d.decode_len, rng);
    }
    // Both at least one token, and together within the context the deployment serves.
    r.decode = std::clamp<std::int64_t>(r.decode, 1, std::max<std::int64_t>(d.context - 1, 1));
    r.prompt = std::clamp<std::int64_t>(r.prompt, 1, std::max<std::int64_t>(d.context - r.decode, 1));
  }
  return out;
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, std::size_t(q * double(v.size() - 1) + 0.5))]; };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / double(v.size());
  return p;
}

// The replica's clock: one continuous-batching step after another.
class Replica {
 public:
  Replica(const ModelSpec& m, const ChipSpec& c, const Deployment& d, std::vector<Request>& requests, bool disaggregated,
          double prefill_s_per_token, std::uint64_t seed)
      : m_(m), c_(c), d_(d), requests_(requests), disaggregated_(disaggregated), chunk_s_per_token_(prefill_s_per_token),
        rng_(seed) {
    // The drafter's weights and cache, where there is one, share the chips.
    const double kv_token = held_kv_bytes_token(m, d);
    capacity_ = std::int64_t(std::floor((d.usable * d.chips * c.memory_bytes - held_weight_bytes(m, d)) / kv_token));
    if (capacity_ < d.context)
      throw Error(fmt::format("does not fit: {} on {} x {} leaves KV room for {} tokens, less than one {}-token request",
                              m.name, d.chips, c.name, std::max<std::int64_t>(capacity_, 0), d.context));
  }

  void run() {
    std::size_t next = 0;  // the next request to arrive (or, disaggregated, to finish its prefill)
    const auto order = arrival_order();
    while (done_ < requests_.size()) {
      while (next < order.size() && ready_at(*order[next]) <= now_) waiting_.push_back(order[next++]);
      admit();
      if (running_.empty()) {  // idle until the next request is ready
        if (next >= order.size()) break;
        advance(std::max(now_, ready_at(*order[next])) - now_, 0);
        continue;
      }
      step();
    }
  }

  std::int64_t capacity() const { return capacity_; }
  double mean_batch() const { return now_ > 0 ? batch_area_ / now_ : 0; }
  double mean_in_system() const { return now_ > 0 ? system_area_ / now_ : 0; }
  double now() const { return now_; }
  std::int64_t decoded_tokens() const { return decoded_; }
  const std::vector<std::size_t>& queue_at_arrivals() const { return queue_samples_; }

 private:
  double ready_at(const Request& r) const { return disaggregated_ ? r.ready : r.arrival; }

  std::vector<Request*> arrival_order() {
    std::vector<Request*> order;
    for (auto& r : requests_) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(), [&](const Request* a, const Request* b) { return ready_at(*a) < ready_at(*b); });
    return order;
  }

  // Waiting requests join while the KV cache holds their whole prompt and decode.
  void admit() {
    while (!waiting_.empty() && reserved_ + waiting_.front()->prompt + waiting_.front()->decode <= capacity_) {
      Request* r = waiting_.front();
      waiting_.pop_front();
      reserved_ += r->prompt + r->decode;
      if (disaggregated_) {
        r->prefilled = r->prompt;
        r->first_token = r->ready;
        r->generated = 1;
        if (finish_if_done(*r, r->ready)) continue;
      }
      running_.push_back(r);
    }
  }

  // One step: every sequence past its prefill decodes a token (speculating, the verifier's
  // token and the drafted ones it accepts); chunked, up to --chunk prompt tokens of those
  // still prefilling ride along.
  void step() {
    // Each running request either decodes (its prefill done) or prefills a chunk of its prompt.
    decoding_.clear();
    prefills_.clear();
    std::int64_t context = 0, chunk = 0;
    std::int64_t budget = d_.prefill_chunk > 0 ? d_.prefill_chunk : std::numeric_limits<std::int64_t>::max();
    for (Request* r : running_) {
      if (r->prefilled == r->prompt) {
        decoding_.push_back(r);
        context += r->prompt + r->generated;
      } else if (budget > 0) {
        const std::int64_t take = std::min(budget, r->prompt - r->prefilled);
        prefills_.emplace_back(r, take);
        budget -= take;
        chunk += take;
      }
    }
    const auto batch = std::int64_t(decoding_.size());
    double dt = double(chunk) * chunk_s_per_token_;
    if (batch > 0) {
      Deployment at = d_;
      at.batch = batch;
      at.context = (context + batch - 1) / batch;
      dt += decode_iteration(m_, c_, at).total_s;
    }
    advance(dt, batch);
    for (Request* r : decoding_) {
      // Past its last token a sequence's accepted drafts are dropped.
      const std::int64_t got = std::min(tokens_this_step(), r->decode - r->generated);
      r->generated += got;
      decoded_ += got;
    }
    for (auto& [r, take] : prefills_)
      if ((r->prefilled += take) == r->prompt) {  // the prefill's last chunk gives the first token
        r->first_token = now_;
        r->generated = 1;
        ++decoded_;
      }
    std::erase_if(running_, [&](Request* r) { return finish_if_done(*r, now_); });
  }

  // 1 without a drafter; with one, the verifier's token after the drafted ones accepted
  // before the first rejection (each with probability a, at most g).
  std::int64_t tokens_this_step() {
    if (!d_.speculation) return 1;
    std::int64_t n = 1;
    while (n <= d_.speculation->draft_len && accept_(rng_) < d_.speculation->acceptance) ++n;
    return n;
  }

  bool finish_if_done(Request& r, double t) {
    if (r.generated < r.decode) return false;
    r.finished = t;
    reserved_ -= r.prompt + r.decode;
    ++done_;
    return true;
  }

  // Time passes: the areas under the batch and the number in the system grow with it, and
  // the queue waiting for the replica is sampled at each arrival on the way.
  void advance(double dt, std::int64_t batch) {
    const double end = now_ + dt;
    while (arrivals_seen_ < requests_.size() && requests_[arrivals_seen_].arrival <= end) {
      queue_samples_.push_back(waiting_.size());
      ++arrivals_seen_;
    }
    // In the system: arrived and not finished (every finish happens at a step's end).
    while (arrived_ < requests_.size() && requests_[arrived_].arrival <= now_) ++arrived_;
    const std::int64_t in_system = std::int64_t(arrived_) - std::int64_t(done_);
    system_area_ += double(in_system) * dt;
    // Those arriving inside the step count from their arrival.
    for (std::size_t i = arrived_; i < requests_.size() && requests_[i].arrival < end; ++i)
      system_area_ += end - requests_[i].arrival;
    batch_area_ += double(batch) * dt;
    now_ = end;
  }

  const ModelSpec& m_;
  const ChipSpec& c_;
  const Deployment& d_;
  std::vector<Request>& requests_;
  bool disaggregated_;
  double chunk_s_per_token_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> accept_{0.0, 1.0};
  std::int64_t capacity_ = 0, reserved_ = 0, decoded_ = 0;
  double now_ = 0, batch_area_ = 0, system_area_ = 0;
  std::deque<Request*> waiting_;
  std::vector<Request*> running_;
  std::vector<Request*> decoding_;                           // this step's, reused
  std::vector<std::pair<Request*, std::int64_t>> prefills_;  // this step's chunks, reused
  std::size_t done_ = 0, arrivals_seen_ = 0, arrived_ = 0;
  std::vector<std::size_t> queue_samples_;
};

// Disaggregated prefill: a FIFO pool of `servers`, each prompt taking its prefill time.
void prefill_pool(std::vector<Request>& requests, int servers, double s_per_token) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int i = 0; i < servers; ++i) free_at.push(0);
  for (auto& r : requests) {
    const double start = std::max(r.arrival, free_at.top());
    free_at.pop();
    r.ready = start + double(r.prompt) * s_per_token;
    free_at.push(r.ready);
  }
}

}  // namespace

LengthDistribution parse_length_distribution(const std::string& text, const char* flag) {
  LengthDistribution d;
  if (text.empty() || text == "fixed") return d;
  if (text == "exponential") {
    d.kind = LengthDistribution::Kind::exponential;
    return d;
  }
  if (text.rfind("lognormal:", 0) == 0) {
    const std::string sigma = text.substr(10);
    char* end = nullptr;
    d.sigma = std::strtod(sigma.c_str(), &end);
    if (sigma.empty() || *end != '\0' || !std::isfinite(d.sigma) || d.sigma <= 0 || d.sigma > 5)
      throw Error(fmt::format("{} lognormal:SIGMA takes a sigma in (0, 5], not '{}'", flag, sigma));
    d.kind = LengthDistribution::Kind::lognormal;
    return d;
  }
  d.kind = LengthDistribution::Kind::trace;
  return d;
}

std::vector<std::pair<std::int64_t, std::int64_t>> read_length_trace(const std::string& path) {
  std::istringstream in(read_user_file(path, "length trace"));
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    long long p = 0, d = 0;
    char comma = 0, extra = 0;
    std::istringstream fields(line);
    if (!(fields >> p >> comma >> d) || comma != ',' || (fields >> extra) || p < 1 || d < 1 || p > (1LL << 40) || d > (1LL << 40)) {
      if (n == 1 && out.empty() && line.find_first_of("0123456789") != 0) continue;  // a header
      throw Error(fmt::format("{}:{}: a trace line is 'prompt,decode' in tokens, not '{}'", path, n, line));
    }
    out.emplace_back(p, d);
  }
  if (out.empty()) throw Error(fmt::format("{}: no prompt,decode pair", path));
  return out;
}

Workload read_workload(const std::string& path) {
  Workload w;
  w.trace = read_length_trace(path);
  double prompt = 0, decode = 0;
  for (const auto& [p, n] : w.trace) {
    prompt += double(p);
    decode += double(n);
    w.longest = std::max(w.longest, p + n);
  }
  w.prompt_len = std::max<std::int64_t>(1, std::llround(prompt / double(w.trace.size())));
  w.decode_len = std::max<std::int64_t>(1, std::llround(decode / double(w.trace.size())));
  return w;
}

LoadPlan plan_load(const ServingEstimate& e, double qps) {
  if (!(qps > 0) || !std::isfinite(qps)) throw Error(fmt::format("--qps must be a positive rate, not {}", qps));
  LoadPlan p;
  p.qps = qps;
  const auto& d = e.deployment;
  const auto whole = [](double x) { return std::int64_t(std::ceil(x * (1 - 1e-12))); };
  p.replicas_with_prefill = whole(qps / e.qps);
  p.decode_replicas = whole(qps / e.decode_qps);
  p.prefill_replicas = whole(qps * e.t_prefill_s);
  const bool pool = e.slo_met ? e.serving_mode == "disaggregated"
                              : p.decode_replicas + p.prefill_replicas < p.replicas_with_prefill;
  p.mode = pool ? "disaggregated" : "aggregated";
  p.replicas = pool ? p.decode_replicas + p.prefill_replicas : p.replicas_with_prefill;
  p.chips_total = p.replicas * d.chips;
  if (e.usd_per_hour) {
    p.usd_per_hour_total = double(p.replicas) * *e.usd_per_hour;
    p.usd_per_day = *p.usd_per_hour_total * 24;
  }
  if (e.capital_usd) p.capital_usd_total = double(p.replicas) * *e.capital_usd;
  return p;
}

SimulationResult simulate(const ModelSpec& m, const ChipSpec& c, const Deployment& d, const SimulationSpec& spec) {
  if (!(spec.qps > 0) || !std::isfinite(spec.qps)) throw Error(fmt::format("--qps must be a positive rate, not {}", spec.qps));
  if (spec.requests < 1) throw Error("--requests must be at least 1");
  std::vector<Request> requests = arrivals(d, spec);
  SimulationResult out;
  const double s_per_token = prefill_s_per_token(m, c, d);
  if (spec.disaggregated) {
    double mean_prompt = 0;
    for (const auto& r : requests) mean_prompt += double(r.prompt);
    mean_prompt /= double(requests.size());
    // Enough servers for the offered prefill work, with a margin of one.
    out.prefill_servers = spec.prefill_servers > 0
                              ? spec.prefill_servers
                              : int(std::ceil(spec.qps * mean_prompt * s_per_token)) + 1;
    prefill_pool(requests, out.prefill_servers, s_per_token);
  }
  // The acceptances draw from their own stream: the same seed gives the same arrivals with
  // and without a drafter.
  Replica replica(m, c, d, requests, spec.disaggregated, s_per_token, spec.seed ^ 0x9e3779b97f4a7c15ULL);
  replica.run();
  out.kv_capacity_tokens = replica.capacity();
  std::vector<double> ttft, tpot, e2e;
  for (const auto& r : requests) {
    ttft.push_back(r.first_token - r.arrival);
    e2e.push_back(r.finished - r.arrival);
    if (r.decode > 1) tpot.push_back((r.finished - r.first_token) / double(r.decode - 1));
  }
  out.requests = spec.requests;
  out.duration_s = replica.now();
  out.ttft_s = percentiles(ttft);
  out.tpot_s = percentiles(tpot);
  out.e2e_s = percentiles(e2e);
  out.throughput_tokens_per_s = double(replica.decoded_tokens()) / out.duration_s;
  out.mean_batch = replica.mean_batch();
  out.mean_in_system = replica.mean_in_system();
  out.arrival_rate = double(spec.requests) / out.duration_s;
  // Saturated: the queue a request finds on arrival keeps growing, from the second half of
  // the arrivals to their end, past what a few steps would clear.
  const auto& q = replica.queue_at_arrivals();
  if (q.size() >= 8) {
    const std::size_t half = q.size() / 2;
    double first = 0, last = 0;
    for (std::size_t i = half / 2; i < half; ++i) first += double(q[i]);
    for (std::size_t i = q.size() - (half - half / 2); i < q.size(); ++i) last += double(q[i]);
    first /= double(half - half / 2);
    last /= double(half - half / 2);
    out.saturated = last > 1.5 * first + 8 && q.back() > 16;
  }
  return out;
}

}  // namespace roofaudit::calibrate
