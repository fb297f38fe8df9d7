// gpu.bandwidth: device-memory bandwidth of a Vulkan device over working-set size: read
// (sum), write, copy, triad, with 16-byte vector loads and stores, random contents (no
// memory compression can shrink them), grid-stride compute shaders, and many dispatches
// per submit timed with timestamp queries. Bytes are counted the STREAM way.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "kernels/vulkan/shaders.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/vulkan/host_values.hpp"
#include "probes/vulkan/session.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"gpu.bandwidth", 1,
                                  "Vulkan device-memory bandwidth over working-set size: read, write, copy, triad (timestamp queries)",
                                  Role::memory_sweep};

using gpu::fill_word;
using vk::Buffer;

float fill_float(std::uint32_t index, std::uint32_t seed) { return float(fill_word(index, seed) & 1023u); }

enum class Kind { read, write, copy, triad };
struct Variant {
  Kind kind;
  const char* name;
  int streams;  // buffers the kernel touches; the working set is split among them
};
const Variant kVariants[] = {{Kind::read, "read", 1}, {Kind::write, "write", 1}, {Kind::copy, "copy", 2},
                             {Kind::triad, "triad", 3}};
constexpr std::uint32_t kSeedSrc = 0x1234567u, kSeedB = 0xabcdefu, kSeedC = 0x7654321u;
constexpr float kTriadScalar = 3.0f;
constexpr std::uint32_t kMaxDispatches = 1024;  // per sample: one read-sum slot each
constexpr std::uint64_t kChunk = 4096;          // validation reads back chunks this size
constexpr int kChunks = 16;
// What one read dispatch moves at least: a smaller working set is re-read that many times
// over in the dispatch, so that an L2-sized set on a GPU (about 10 TB/s) runs for tens of
// microseconds, well past a dispatch's few microseconds of fixed cost. The CPU
// implementation is a correctness target: less.
constexpr std::uint64_t kReadBytesPerDispatch = std::uint64_t(512) << 20;
constexpr std::uint64_t kReadBytesPerDispatchCpu = std::uint64_t(16) << 20;
constexpr std::uint32_t kReadGroups = 2048;

class GpuBandwidthProbe final : public gpu::GpuProbe {
 public:
  GpuBandwidthProbe() : GpuProbe(kIdentity) {}

  std::vector<Figure> figures() const override { return gpu::figures_of(kVariants, figure); }
  void run_on(ProbeDriver& driver, gpu::Session& session) override {
    if (!session.device->description().timestamps) {
      for (const auto& v : kVariants)
        driver.unsupported(figure(v), "unsupported: the device's compute queue has no timestamps (timestampValidBits = 0)",
                           {{"working_set_bytes", 0}});
      return;
    }
    Sweep sweep(driver, session);
    sweep.run();
  }

 private:
  static Figure figure(const Variant& v) {
    return {v.name, "bandwidth", "B/s", true,
            "stream: bytes the kernel reads plus bytes it writes, once each; working set = all buffers"};
  }

  class Sweep {
   public:
    Sweep(const ProbeDriver& driver, gpu::Session& session)
        : driver_(driver), session_(session), dev_(*session.device), desc_(dev_.description()) {}

    void run() {
      const std::uint64_t max_ws = max_working_set();
      const std::uint64_t min_ws = std::max<std::uint64_t>(driver_.settings().min_working_set_bytes, 64 * 1024);
      const auto sizes = geometric_sizes(std::min(min_ws, max_ws), max_ws, 1.5);
      local_ = std::min<std::uint32_t>(256, desc_.max_workgroup_size);
      driver_.progress(fmt::format("{}: allocating 3 x {}", desc_.name, human_bytes(double(max_ws))));
      buffers_[0] = std::make_unique<Buffer>(dev_, max_ws, Buffer::Memory::device_local);
      buffers_[1] = std::make_unique<Buffer>(dev_, max_ws, Buffer::Memory::device_local);
      buffers_[2] = std::make_unique<Buffer>(dev_, max_ws, Buffer::Memory::device_local);
      sums_ = std::make_unique<Buffer>(dev_, kMaxDispatches * 4, Buffer::Memory::device_local);
      staging_ = std::make_unique<Buffer>(dev_, kChunk * (kChunks + 1) + kMaxDispatches * 4, Buffer::Memory::host_visible);
      commands_ = std::make_unique<vk::Commands>(dev_, 2);
      fill_ = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader("bw_fill"), 1, 12, local_, 4);
      read_ = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader("bw_read"), 2, 12, local_, 1);
      write_ = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader("bw_write"), 1, 8, local_, 1);
      copy_ = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader("bw_copy"), 2, 4, local_, 1);
      triad_ = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader("bw_triad"), 3, 8, local_, 1);
      read_set_ = read_->bind({buffers_[0].get(), sums_.get()});
      write_set_ = write_->bind({buffers_[1].get()});
      copy_set_ = copy_->bind({buffers_[0].get(), buffers_[1].get()});
      triad_set_ = triad_->bind({buffers_[2].get(), buffers_[0].get(), buffers_[1].get()});

      fill(0, kSeedSrc, false);
      for (const auto& v : kVariants) {
        if (v.kind == Kind::triad) {  // b and c hold small integers as floats
          fill(0, kSeedB, true);
          fill(1, kSeedC, true);
        }
        std::uint64_t previous = 0;
        for (std::uint64_t ws : sizes) {
          if (driver_.stopped()) return;
          const std::uint64_t n = ws / std::uint64_t(v.streams) / 16;  // vec4 elements per buffer
          if (n == 0 || n == previous) continue;
          previous = n;
          driver_.progress(fmt::format("{} {}", v.name, human_bytes(double(ws))));
          measure(v, n);
        }
      }
    }

   private:
    std::uint64_t max_working_set() const {
      // Per buffer: within maxStorageBufferRange and one allocation; in all, an eighth of
      // device memory. The CPU implementation (lavapipe) is a correctness target: small.
      std::uint64_t cap = std::min<std::uint64_t>(desc_.max_storage_buffer_range, desc_.max_allocation_bytes);
      cap = std::min<std::uint64_t>(cap, std::max<std::uint64_t>(desc_.device_local_bytes() / 8, 1 << 20));
      std::uint64_t wanted = desc_.type == "cpu" ? std::uint64_t(64) << 20 : std::uint64_t(1) << 30;
      if (driver_.settings().quick && desc_.type == "cpu") wanted /= 4;
      if (driver_.settings().max_working_set_bytes) wanted = driver_.settings().max_working_set_bytes;
      return std::max<std::uint64_t>(std::min(wanted, cap) / 16 * 16, 64 * 1024);
    }

    // How many times one read dispatch reads a working set of n vectors.
    std::uint32_t read_passes(std::uint64_t n) const {
      const std::uint64_t target = desc_.type == "cpu" ? kReadBytesPerDispatchCpu : kReadBytesPerDispatch;
      const std::uint64_t passes = std::max<std::uint64_t>(1, target / (n * 16));
      return std::uint32_t(std::min<std::uint64_t>(passes, (std::uint64_t(1) << 31) / n));
    }

    // The read's grid: where it re-reads, enough workgroups to fill a large GPU twice over
    // (each thread then loops over many vectors, so the per-workgroup reduction is noise);
    // on the CPU implementation, where a workgroup costs tens of microseconds, one thread
    // per vector of the set, as without re-reading.
    std::uint32_t read_groups(std::uint64_t n) const {
      const std::uint32_t passes = read_passes(n);
      if (passes == 1 || desc_.type == "cpu") return groups_for(n);
      return std::min(groups_for(n * passes), std::max(groups_for(n), kReadGroups));
    }

    std::uint32_t groups_for(std::uint64_t n) const {
      return std::uint32_t(std::clamp<std::uint64_t>((n + local_ - 1) / local_, 1, 65535));
    }

    void fill(int buffer, std::uint32_t seed, bool as_float) {
      const std::uint64_t n = buffers_[buffer]->bytes() / 16;
      VkDescriptorSet set = fill_->bind({buffers_[buffer].get()});
      const std::uint32_t push[3] = {std::uint32_t(n), seed, as_float ? 1u : 0u};
      VkCommandBuffer cmd = commands_->begin();
      fill_->dispatch(cmd, set, push, groups_for(n));
      vk::transfer_barrier(cmd);
      commands_->submit_and_wait();
    }

    // One sample: `dispatches` kernels between two timestamps, each after a barrier on the
    // previous one; then the validation read-back. Returns GPU seconds per dispatch.
    double batch(const Variant& v, std::uint64_t n, std::uint32_t dispatches, std::string& problem) {
      VkCommandBuffer cmd = commands_->begin();
      if (v.kind == Kind::read) vkCmdFillBuffer(cmd, sums_->get(), 0, VK_WHOLE_SIZE, 0);
      if (v.kind == Kind::copy) vkCmdFillBuffer(cmd, buffers_[1]->get(), 0, n * 16, 0);  // poison the target
      if (v.kind == Kind::triad) vkCmdFillBuffer(cmd, buffers_[2]->get(), 0, n * 16, 0);
      vk::transfer_barrier(cmd);
      commands_->timestamp(0);
      const std::uint32_t groups = groups_for(n);
      for (std::uint32_t d = 0; d < dispatches; ++d) {
        if (d) vk::compute_barrier(cmd);
        switch (v.kind) {
          case Kind::read: {
            const std::uint64_t total = n * read_passes(n);
            const std::uint32_t push[3] = {std::uint32_t(n), d, std::uint32_t(total)};
            read_->dispatch(cmd, read_set_, push, read_groups(n));
            break;
          }
          case Kind::write: {
            const std::uint32_t push[2] = {std::uint32_t(n), write_value(d)};
            write_->dispatch(cmd, write_set_, push, groups);
            break;
          }
          case Kind::copy: {
            const std::uint32_t push[1] = {std::uint32_t(n)};
            copy_->dispatch(cmd, copy_set_, push, groups);
            break;
          }
          case Kind::triad: {
            struct {
              std::uint32_t n;
              float scalar;
            } push{std::uint32_t(n), kTriadScalar};
            triad_->dispatch(cmd, triad_set_, &push, groups);
            break;
          }
        }
      }
      commands_->timestamp(1);
      vk::transfer_barrier(cmd);
      // Read-back for validation: the per-dispatch sums, or chunks of the written buffer.
      const Buffer& written = v.kind == Kind::write || v.kind == Kind::copy ? *buffers_[1] : *buffers_[2];
      std::vector<std::uint64_t> offsets;
      if (v.kind == Kind::read) {
        vk::copy_buffer(cmd, *sums_, *staging_, 0, 0, dispatches * 4);
      } else {
        offsets = chunk_offsets(n * 16);
        for (std::size_t i = 0; i < offsets.size(); ++i)
          vk::copy_buffer(cmd, written, *staging_, offsets[i], i * kChunk, std::min<std::uint64_t>(kChunk, n * 16));
      }
      vk::transfer_barrier(cmd);
      commands_->submit_and_wait();
      const double seconds = commands_->seconds_between(0, 1) / dispatches;
      problem = v.kind == Kind::read ? check_sums(n, dispatches) : check_chunks(v, n, dispatches, offsets);
      if (problem.empty()) problem = session_.validation_problem();
      return seconds;
    }

    static std::uint32_t write_value(std::uint32_t d) { return 0x5a5a0000u + d; }

    std::vector<std::uint64_t> chunk_offsets(std::uint64_t bytes) {
      std::vector<std::uint64_t> out;
      if (bytes <= kChunk) return {0};
      const std::uint64_t last = (bytes - kChunk) / 16 * 16;
      for (int i = 0; i < kChunks; ++i) out.push_back(rng_.below(last / 16 + 1) * 16);
      out.push_back(last);  // the end of the buffer, always
      return out;
    }

    std::string check_sums(std::uint64_t n, std::uint32_t dispatches) {
      while (summed_words_ < 4 * n) expected_sum_ += fill_word(std::uint32_t(summed_words_++), kSeedSrc);
      if (summed_words_ > 4 * n) {  // sizes only grow within a variant; recompute if not
        expected_sum_ = 0;
        for (summed_words_ = 0; summed_words_ < 4 * n;) expected_sum_ += fill_word(std::uint32_t(summed_words_++), kSeedSrc);
      }
      const auto* sums = static_cast<const std::uint32_t*>(staging_->mapped());
      const std::uint32_t expected = expected_sum_ * read_passes(n);  // modulo 2^32, as the GPU adds
      for (std::uint32_t d = 0; d < dispatches; ++d)
        if (sums[d] != expected)
          return fmt::format("dispatch {} of {} summed {:#x}, expected {:#x}", d, dispatches, sums[d], expected);
      return "";
    }

    std::string check_chunks(const Variant& v, std::uint64_t n, std::uint32_t dispatches,
                             const std::vector<std::uint64_t>& offsets) {
      const auto* base = static_cast<const std::uint8_t*>(staging_->mapped());
      const std::uint64_t length = std::min<std::uint64_t>(kChunk, n * 16);
      for (std::size_t c = 0; c < offsets.size(); ++c) {
        for (std::uint64_t b = 0; b < length; b += 4) {
          const auto word = std::uint32_t((offsets[c] + b) / 4);
          std::uint32_t got;
          std::memcpy(&got, base + c * kChunk + b, 4);
          std::uint32_t want = 0;
          if (v.kind == Kind::write) want = word ^ write_value(dispatches - 1);
          if (v.kind == Kind::copy) want = fill_word(word, kSeedSrc);
          if (v.kind == Kind::triad) {
            const float f = fill_float(word, kSeedB) + kTriadScalar * fill_float(word, kSeedC);
            std::memcpy(&want, &f, 4);
          }
          if (got != want)
            return fmt::format("{}: word {} is {:#x}, expected {:#x}", v.name, word, got, want);
        }
      }
      return "";
    }

    void measure(const Variant& v, std::uint64_t n) {
      const std::uint64_t working_set = n * 16 * std::uint64_t(v.streams);
      const std::uint32_t passes = v.kind == Kind::read ? read_passes(n) : 1;
      const std::uint64_t bytes_per_dispatch = working_set * passes;
      std::string problem;
      // Calibration doubles as warm-up: one dispatch, then as many as fill the target.
      const double one = batch(v, n, 1, problem);
      const std::uint32_t dispatches = std::uint32_t(std::clamp(
          gpu::sample_target_seconds(driver_.settings(), desc_) / std::max(one, 1e-7), 1.0, double(kMaxDispatches)));
      // Past every GPU L2 / last-level cache shipping (up to ~256 MiB) only on a GPU swept to
      // 1 GiB; the CPU implementation's sweep never reaches "device memory".
      const bool reaches_memory = desc_.type != "cpu" && max_working_set() >= (std::uint64_t(512) << 20);
      Measurement m = driver_.measurement(
          figure(v), {{"working_set_bytes", working_set},         {"sweep_reaches_memory", reaches_memory},
                      {"passes_per_dispatch", passes},
                      {"device_name", desc_.name},                {"local_size", local_},
                      {"workgroups", v.kind == Kind::read ? read_groups(n) : groups_for(n)},              {"dispatches_per_sample", dispatches},
                      {"vector_bytes", 16}});
      driver_.measure_unless(
          problem, std::move(m), fmt::format("gpu.bandwidth/{}/{}", v.name, n),
          [&](std::string& p) { return batch(v, n, dispatches, p); },
          v.kind == Kind::read ? "every dispatch's sum of every word, over every pass, equals the host's (mod 2^32)"
                               : "17 chunks of 4 KiB (one at the end) read back equal the host's values",
          [&](double s) { return double(bytes_per_dispatch) / s; });
    }

    const ProbeDriver& driver_;
    gpu::Session& session_;
    const vk::Device& dev_;
    const vk::DeviceDescription& desc_;
    std::uint32_t local_ = 256;
    std::unique_ptr<Buffer> buffers_[3], sums_, staging_;
    std::unique_ptr<vk::Commands> commands_;
    std::unique_ptr<vk::ComputePipeline> fill_, read_, write_, copy_, triad_;
    VkDescriptorSet read_set_{}, write_set_{}, copy_set_{}, triad_set_{};
    kernels::SplitMix64 rng_{0x9a11};
    std::uint64_t summed_words_ = 0;
    std::uint32_t expected_sum_ = 0;
  };
};

ROOFAUDIT_REGISTER_PROBE(GpuBandwidthProbe);

}  // namespace
}  // namespace roofaudit
