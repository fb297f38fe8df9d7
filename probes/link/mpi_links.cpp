#include "probes/link/mpi_links.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <set>

#include <fmt/format.h>

#ifdef ROOFAUDIT_WITH_MPI
#include <mpi.h>
#endif

#include "probes/summary.hpp"
#include "probes/timing.hpp"

namespace roofaudit {

double bus_bandwidth(const std::string& collective, double algorithm_bandwidth, int ranks) {
  const double n = std::max(1, ranks);
  if (collective == "allreduce") return algorithm_bandwidth * 2 * (n - 1) / n;
  return algorithm_bandwidth * (n - 1) / n;  // allgather, reduce_scatter
}

std::vector<std::size_t> p2p_sizes(bool quick) {
  if (quick) return {4096, 1u << 20, 16u << 20};
  std::vector<std::size_t> out;
  for (std::size_t s = 64; s <= (64u << 20); s *= 4) out.push_back(s);
  return out;
}

std::vector<std::size_t> collective_sizes(bool quick) {
  if (quick) return {64u << 10, 16u << 20};
  std::vector<std::size_t> out;
  for (std::size_t s = 1024; s <= (64u << 20); s *= 4) out.push_back(s);
  return out;
}

#ifdef ROOFAUDIT_WITH_MPI
namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}
bool all_true(bool ok) {
  int in = ok ? 1 : 0, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return out != 0;
}
double slowest(double seconds) {
  double out = 0;
  MPI_Allreduce(&seconds, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

// The byte pattern of a payload: position and seed mixed, so a misplaced or stale byte
// shows.
std::uint8_t pattern_byte(std::size_t i, std::uint64_t seed) {
  std::uint64_t x = (std::uint64_t(i) + seed) * 0x9E3779B97F4A7C15ull;
  return std::uint8_t(x >> 56);
}
void fill_pattern(std::vector<std::uint8_t>& b, std::uint64_t seed) {
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = pattern_byte(i, seed);
}
bool has_pattern(const std::uint8_t* b, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != pattern_byte(i, seed)) return false;
  return true;
}

struct Timed {
  std::vector<double> seconds;  // slowest rank's time per repetition
  std::uint64_t iterations = 1;
  bool ok = true;               // every payload checked out on every rank
  std::string error;
};

// Runs `op(iterations)` on every rank: the iteration count grows until one repetition
// takes about `target_s` (rank 0 decides, all follow), then `reps` timed repetitions.
// `op` returns whether its payloads checked out; it never throws, so no rank leaves a
// collective early.
Timed timed(const std::string& name, int reps, double target_s, const std::function<bool(std::uint64_t)>& op) {
  Timed out;
  bool ok = true;
  std::uint64_t iters = 1;
  for (;;) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    ok = op(iters) && ok;
    const double t = slowest(MPI_Wtime() - t0);
    std::uint64_t next = 0;
    if (world_rank() == 0 && t < target_s / 2 && iters < (std::uint64_t{1} << 20))
      next = std::uint64_t(double(iters) * std::clamp(target_s / std::max(t, 1e-7), 2.0, 16.0));
    MPI_Bcast(&next, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (next == 0) break;
    iters = next;
  }
  out.iterations = iters;
  const auto timing = time_repetitions(name, 0, reps, [&] {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    ok = op(iters) && ok;
    return slowest(MPI_Wtime() - t0);
  });
  out.seconds = timing.seconds;
  out.ok = all_true(ok && timing.ok);
  if (!timing.ok) out.error = timing.error;
  else if (!out.ok) out.error = "a payload differed from what was sent on at least one rank";
  return out;
}

class Links {
 public:
  Links(const RunSettings& settings, std::vector<std::string> hosts,
        const std::function<void(const std::string&)>& progress)
      : s_(settings), hosts_(std::move(hosts)), progress_(progress), rank_(world_rank()), n_(world_size()) {
    reps_ = s_.repetitions > 0 ? s_.repetitions : (s_.quick ? 3 : 5);
    target_s_ = s_.sample_seconds > 0 ? s_.sample_seconds : (s_.quick ? 0.005 : 0.02);
    nodes_ = int(std::set<std::string>(hosts_.begin(), hosts_.end()).size());
  }

  std::vector<Measurement> run() {
    for (int peer = 1; peer < n_; ++peer) {
      for (std::size_t bytes : {std::size_t{8}, std::size_t{4096}}) latency(peer, bytes);
      for (std::size_t bytes : p2p_sizes(s_.quick)) {
        bandwidth(peer, bytes, false);
        bandwidth(peer, bytes, true);
      }
    }
    for (std::size_t bytes : collective_sizes(s_.quick))
      for (const char* c : {"allreduce", "allgather", "reduce_scatter"}) collective(c, bytes);
    return out_;
  }

 private:
  Measurement base(const std::string& variant, const std::string& metric, const std::string& unit, bool higher,
                   std::size_t bytes) const {
    Measurement m;
    m.probe = "link.mpi";
    m.probe_version = 1;
    m.device = "cpu";
    m.variant = variant;
    m.metric = metric;
    m.unit = unit;
    m.higher_is_better = higher;
    m.params = {{"bytes", bytes}, {"ranks", n_}, {"nodes", nodes_}};
    return m;
  }
  void add_peer(Measurement& m, int peer) const {
    m.params["peer_rank"] = peer;
    m.params["peer_host"] = hosts_[std::size_t(peer)];
    m.params["same_host"] = hosts_[std::size_t(peer)] == hosts_[0];
  }
  void keep(Measurement m, const Timed& t, const std::string& checked, const std::function<double(double)>& value_of) {
    if (rank_ != 0) return;
    m.params["iterations"] = t.iterations;
    record_outcome(m, t.seconds, t.ok ? "" : t.error, checked, value_of);
    out_.push_back(std::move(m));
  }

  // Blocking ping-pong: rank 0 sends, the peer sends the same bytes back.
  void latency(int peer, std::size_t bytes) {
    if (progress_) progress_(fmt::format("ping-pong {} B with rank {}", bytes, peer));
    // Rank 0 holds the pattern, the peer something else until the first message lands.
    std::vector<std::uint8_t> buf(bytes);
    fill_pattern(buf, s_.seed + bytes + (rank_ == 0 ? 0 : 1));
    const auto t = timed(fmt::format("link.mpi/p2p_latency/{}/{}", peer, bytes), reps_, target_s_, [&](std::uint64_t iters) {
      if (rank_ != 0 && rank_ != peer) return true;
      if (rank_ == 0) {
        for (std::uint64_t i = 0; i < iters; ++i) {
          MPI_Send(buf.data(), int(bytes), MPI_BYTE, peer, 1, MPI_COMM_WORLD);
          MPI_Recv(buf.data(), int(bytes), MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
      } else if (rank_ == peer) {
        for (std::uint64_t i = 0; i < iters; ++i) {
          MPI_Recv(buf.data(), int(bytes), MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(buf.data(), int(bytes), MPI_BYTE, 0, 1, MPI_COMM_WORLD);
        }
      }
      return has_pattern(buf.data(), bytes, s_.seed + bytes);
    });
    Measurement m = base("p2p_latency", "latency", "s", false, bytes);
    m.convention = "one-way latency: half the round trip of a blocking MPI_Send/MPI_Recv ping-pong";
    add_peer(m, peer);
    keep(std::move(m), t, "every round trip returned the bytes sent",
         [&](double s) { return s / double(t.iterations) / 2; });
  }

  // Windowed non-blocking sends (OSU style): a window of messages in flight, then a
  // one-byte acknowledgement. Both ways: each side sends a window to the other at once.
  void bandwidth(int peer, std::size_t bytes, bool both_ways) {
    if (progress_)
      progress_(fmt::format("{} {} with rank {}", both_ways ? "bidirectional" : "bandwidth", bytes, peer));
    const std::size_t window = std::clamp<std::size_t>((std::size_t{256} << 20) / bytes, 1, 64);
    const bool active = rank_ == 0 || rank_ == peer;
    std::vector<std::uint8_t> send(active ? bytes : 0), recv(active ? bytes * window : 0);
    const std::uint64_t seed = s_.seed + bytes + std::uint64_t(rank_) * 7919;
    const std::uint64_t other_seed = s_.seed + bytes + std::uint64_t(rank_ == 0 ? peer : 0) * 7919;
    if (active) fill_pattern(send, seed);
    std::vector<MPI_Request> requests(2 * window);
    const auto t = timed(
        fmt::format("link.mpi/{}/{}/{}", both_ways ? "p2p_bidirectional" : "p2p_bandwidth", peer, bytes), reps_,
        target_s_, [&](std::uint64_t iters) {
          if (!active) return true;
          const int other = rank_ == 0 ? peer : 0;
          const bool sender = rank_ == 0 || both_ways, receiver = rank_ == peer || both_ways;
          char ack = 0;
          for (std::uint64_t i = 0; i < iters; ++i) {
            std::size_t r = 0;
            if (receiver)
              for (std::size_t w = 0; w < window; ++w)
                MPI_Irecv(recv.data() + w * bytes, int(bytes), MPI_BYTE, other, 2, MPI_COMM_WORLD, &requests[r++]);
            if (sender)
              for (std::size_t w = 0; w < window; ++w)
                MPI_Isend(send.data(), int(bytes), MPI_BYTE, other, 2, MPI_COMM_WORLD, &requests[r++]);
            MPI_Waitall(int(r), requests.data(), MPI_STATUSES_IGNORE);
            if (both_ways) continue;
            if (rank_ == peer) MPI_Send(&ack, 1, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
            else MPI_Recv(&ack, 1, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          }
          if (rank_ == peer || both_ways)
            for (std::size_t w = 0; w < window; ++w)
              if (!has_pattern(recv.data() + w * bytes, bytes, other_seed)) return false;
          return true;
        });
    Measurement m = base(both_ways ? "p2p_bidirectional" : "p2p_bandwidth", "bandwidth", "B/s", true, bytes);
    m.convention = both_ways ? "bytes both sides received per second, windows sent both ways at once"
                             : "bytes received per second, a window of non-blocking sends then an acknowledgement";
    m.params["window"] = window;
    add_peer(m, peer);
    keep(std::move(m), t, "every message of the last window held the sender's pattern", [&](double s) {
      return double(bytes) * double(window) * double(t.iterations) * (both_ways ? 2 : 1) / s;
    });
  }

  // nccl-tests' sizes: the whole buffer (all-reduce: the vector; all-gather: the
  // gathered output; reduce-scatter: the input that is scattered).
  void collective(const std::string& which, std::size_t bytes_requested) {
    if (progress_) progress_(fmt::format("{} {} over {} ranks", which, bytes_requested, n_));
    const std::size_t per_rank = std::max<std::size_t>(1, bytes_requested / 8 / std::size_t(n_));
    const std::size_t total = per_rank * std::size_t(n_);  // int64 elements
    const auto me = std::uint64_t(rank_);
    const std::uint64_t ranks_sum = std::uint64_t(n_) * std::uint64_t(n_ + 1) / 2;
    // The reductions send element i as (rank + 1)(i + 1), so element i sums to
    // (i + 1) n(n + 1)/2; all-gather sends each rank's block of the positions 0..total-1.
    std::vector<std::int64_t> send(which == "allgather" ? per_rank : total), recv(which == "reduce_scatter" ? per_rank : total);
    for (std::size_t i = 0; i < send.size(); ++i)
      send[i] = which == "allgather" ? std::int64_t(me * per_rank + i) : std::int64_t((me + 1) * (i + 1));
    std::function<bool(std::uint64_t)> op;
    if (which == "allreduce") {
      op = [&, total](std::uint64_t iters) {
        for (std::uint64_t k = 0; k < iters; ++k)
          MPI_Allreduce(send.data(), recv.data(), int(total), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
        for (std::size_t i = 0; i < total; ++i)
          if (recv[i] != std::int64_t((i + 1) * ranks_sum)) return false;
        return true;
      };
    } else if (which == "allgather") {
      op = [&, total, per_rank](std::uint64_t iters) {
        for (std::uint64_t k = 0; k < iters; ++k)
          MPI_Allgather(send.data(), int(per_rank), MPI_INT64_T, recv.data(), int(per_rank), MPI_INT64_T, MPI_COMM_WORLD);
        for (std::size_t i = 0; i < total; ++i)
          if (recv[i] != std::int64_t(i)) return false;
        return true;
      };
    } else {
      op = [&, per_rank](std::uint64_t iters) {
        for (std::uint64_t k = 0; k < iters; ++k)
          MPI_Reduce_scatter_block(send.data(), recv.data(), int(per_rank), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
        for (std::size_t i = 0; i < per_rank; ++i)
          if (recv[i] != std::int64_t((me * per_rank + i + 1) * ranks_sum)) return false;
        return true;
      };
    }
    const std::size_t bytes = total * 8;
    const auto t = timed(fmt::format("link.mpi/{}/{}", which, bytes), reps_, target_s_, op);
    const std::string checked = which == "allgather" ? "every rank gathered every rank's block in place"
                                                     : "every element equals the exact integer sum over the ranks";
    Measurement algbw = base(which, "algorithm_bandwidth", "B/s", true, bytes);
    algbw.convention = "nccl-tests algbw: the buffer's bytes over the time of one collective";
    keep(algbw, t, checked, [&](double s) { return double(bytes) * double(t.iterations) / s; });
    Measurement busbw = base(which, "bus_bandwidth", "B/s", true, bytes);
    busbw.convention = which == "allreduce" ? "nccl-tests busbw: algbw x 2(n-1)/n" : "nccl-tests busbw: algbw x (n-1)/n";
    keep(busbw, t, checked,
         [&](double s) { return bus_bandwidth(which, double(bytes) * double(t.iterations) / s, n_); });
  }

  const RunSettings& s_;
  std::vector<std::string> hosts_;
  std::function<void(const std::string&)> progress_;
  int rank_ = 0, n_ = 1, nodes_ = 1, reps_ = 3;
  double target_s_ = 0.005;
  std::vector<Measurement> out_;
};

}  // namespace

std::vector<Measurement> measure_mpi_links(const RunSettings& settings, const std::vector<std::string>& hosts,
                                           const std::function<void(const std::string&)>& progress) {
  return Links(settings, hosts, progress).run();
}
#endif

}  // namespace roofaudit
