// roofaudit devices: every Vulkan device with what the GPU probes care about.
#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "values/units.hpp"
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
}

}  // namespace

void add_devices_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("devices", "list the Vulkan devices the gpu.* probes can use");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&action, json] {
    action = [json] {
      std::vector<vk::DeviceDescription> devices;
      try {
        const vk::Instance instance(false);
        devices = instance.describe_devices();
      } catch (const vk::VulkanError& e) {
        // No driver is a fact about the machine, not an error of the command.
        if (*json) std::cout << reports::json_text(nlohmann::json{{"devices", nlohmann::json::array()}, {"skipped", e.what()}}) << "\n";
        else fmt::print("no Vulkan devices: {}\n", e.what());
        return 0;
      }
      const int chosen = devices.empty() ? -1 : vk::select_device(devices, "");
      if (*json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& d : devices) arr.push_back(d.to_json());
        std::cout << reports::json_text(nlohmann::json{{"devices", arr}, {"default", chosen}}) << "\n";
        return 0;
      }
      if (devices.empty()) fmt::print("no Vulkan devices: the driver reports none\n");
      for (const auto& d : devices) print_device(d, d.index == chosen);
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
