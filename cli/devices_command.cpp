// roofaudit devices: each backend's view of each GPU (Vulkan for the gpu.* probes, CUDA
// for the cuda.* probes), with what the probes care about, and which views are one GPU.
#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "values/units.hpp"
#include "cli/device_selection.hpp"
#include "probes/vulkan/vulkan.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

std::string yes_no(bool b) { return b ? "yes" : "no"; }

void print_device(const vk::DeviceDescription& d, bool chosen) {
  fmt::print("{}: {} ({}){}\n", d.index, d.name, d.type, chosen ? "  <- chosen by default" : "");
  fmt::print("   driver {}, Vulkan {}, vendor {:#06x} device {:#06x}, UUID {}\n", d.driver, d.api_version, d.vendor_id,
             d.device_id, d.device_uuid);
  std::vector<std::string> heaps;
  for (const auto& h : d.heaps) heaps.push_back(fmt::format("{}{}", human_bytes(double(h.bytes)), h.device_local ? " device-local" : ""));
  fmt::print("   memory heaps: {}; max allocation {}, max storage buffer range {}\n", fmt::join(heaps, ", "),
             human_bytes(double(d.max_allocation_bytes)), human_bytes(double(d.max_storage_buffer_range)));
  fmt::print("   subgroup {}, max workgroup {}; timestamps {}", d.subgroup_size, d.max_workgroup_size, yes_no(d.timestamps));
  if (d.timestamps) fmt::print(" ({} valid bits, {} ns per tick)", d.timestamp_valid_bits, d.timestamp_period_ns);
  fmt::print("\n   shaderFloat16 {}, shaderInt8 {}, 8-bit storage {}, 16-bit storage {}, integer dot product {}{}\n",
             yes_no(d.shader_float16), yes_no(d.shader_int8), yes_no(d.storage_8bit), yes_no(d.storage_16bit),
             yes_no(d.integer_dot_product), d.integer_dot_4x8_accelerated ? " (4x8 accelerated)" : "");
  fmt::print("   cooperative matrix: NV {}{}; KHR {}{}\n", yes_no(d.cooperative_matrix_nv),
             d.cooperative_matrix_shapes.empty() ? "" : fmt::format(" [{}]", fmt::join(d.cooperative_matrix_shapes, ", ")),
             yes_no(d.cooperative_matrix_khr),
             d.cooperative_matrix_khr_shapes.empty() ? ""
                                                     : fmt::format(" [{}]", fmt::join(d.cooperative_matrix_khr_shapes, ", ")));
  fmt::print("   bf16 (VK_KHR_shader_bfloat16) {}; newer matrix extensions: {}\n", yes_no(d.shader_bfloat16),
             d.matrix_extensions.empty() ? std::string("none") : fmt::format("{}", fmt::join(d.matrix_extensions, ", ")));
  if (!d.pci_bus_id.empty())
    fmt::print("   PCI {}; host link: {}\n", d.pci_bus_id,
               d.pcie ? d.pcie->text() : std::string("not stated by the PCI driver (no PCIe limit is checked)"));
}

void print_cuda_device(const cuda::DeviceView& d, const std::vector<vk::DeviceDescription>& vulkan) {
  std::string same;
  for (const auto& v : vulkan)
    if (!v.device_uuid.empty() && v.device_uuid == d.uuid) same = fmt::format("  (Vulkan device {})", v.index);
  fmt::print("{}: {}, compute capability {}.{}{}{}\n", d.key(), d.name, d.compute_major, d.compute_minor,
             d.ordinal == 0 ? "  <- chosen by default" : "", same);
  fmt::print("   driver {}, runtime {}, UUID {}, PCI {}{}\n", d.driver_version, d.runtime_version, d.uuid,
             d.pci_bus_id.empty() ? "unknown" : d.pci_bus_id,
             d.pci_device_id >= 0 ? fmt::format(" (device {:#06x})", d.pci_device_id) : "");
  fmt::print("   {} multiprocessors, memory {} on a {}-bit bus, L2 {}; fp8 matrices {}\n", d.multiprocessors,
             human_bytes(double(d.memory_bytes)), d.memory_bus_bits, human_bytes(double(d.l2_bytes)), yes_no(d.has_fp8()));
  fmt::print("   host link: {}\n", d.pcie ? d.pcie->text() : std::string("not stated by the PCI driver (no PCIe limit is checked)"));
}

}  // namespace

void add_devices_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("devices", "list each backend's view of each GPU: Vulkan (gpu.* probes) and CUDA (cuda.* probes)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&action, json] {
    action = [json] {
      const BackendViews views = gather_backend_views();
      const int chosen = views.vulkan.empty() ? -1 : vk::select_device(views.vulkan, "");
      if (*json) {
        // Vulkan's view at the top (as before CUDA had one), CUDA's under "cuda"; a
        // backend without devices says why under "skipped".
        nlohmann::json out{{"devices", nlohmann::json::array()}, {"default", chosen}};
        for (const auto& d : views.vulkan) out["devices"].push_back(d.to_json());
        if (!views.vulkan_skipped.empty()) out["skipped"] = views.vulkan_skipped;
        nlohmann::json c{{"devices", nlohmann::json::array()}, {"built", cuda::built()}};
        for (const auto& d : views.cuda.devices) c["devices"].push_back(d.to_json());
        if (!views.cuda.skipped.empty()) c["skipped"] = views.cuda.skipped;
        else c["default"] = views.cuda.devices.front().key();
        out["cuda"] = c;
        std::cout << reports::json_text(out) << "\n";
        return 0;
      }
      fmt::print("Vulkan (gpu.* probes; --device N):\n");
      if (views.vulkan.empty()) fmt::print("  no Vulkan devices: {}\n", views.vulkan_skipped);
      for (const auto& d : views.vulkan) print_device(d, d.index == chosen);
      fmt::print("CUDA (cuda.* probes; --device cuda:N):\n");
      if (views.cuda.devices.empty()) fmt::print("  no CUDA devices: {}\n", views.cuda.skipped);
      for (const auto& d : views.cuda.devices) print_cuda_device(d, views.vulkan);
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
