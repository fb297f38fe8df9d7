// roofaudit catalog: the chips and models the serving model knows by name.
#include <iostream>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/chip_codec.hpp"
#include "cli/command.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {

using namespace roofaudit::calibrate;

void add_catalog_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("catalog", "list the chip or model catalogue");
  auto what = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("WHAT", *what, "chips or models")->required()->check(CLI::IsMember({"chips", "models"}));
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&action, what, json] {
    action = [what, json] {
      nlohmann::json arr = nlohmann::json::array();
      if (*what == "chips") {
        if (!*json)
          fmt::print("{:<11} {:>10} {:>10} {:>10} {:>9} {:>11} {:>7} {:>8} {:>6}  {}\n", "chip", "bf16 TF/s", "int8 TO/s",
                     "HBM GB", "HBM TB/s", "link GB/s", "USD/h", "buy USD", "W", "name");
        for (const auto& c : catalog_chips()) {
          if (*json) {
            arr.push_back(chip_to_catalogue_json(c));
          } else {
            fmt::print("{:<11} {:>10.1f} {:>10.1f} {:>10.1f} {:>9.3f} {:>11.1f} {:>7} {:>8} {:>6}  {}\n", c.name,
                       c.peak_ops(Dtype::bf16) / 1e12, c.peak_ops(Dtype::int8) / 1e12, c.memory_bytes / 1e9,
                       c.memory_bytes_per_s / 1e12, c.link_bytes_per_s / 1e9,
                       c.usd_per_hour ? fmt::format("{:.2f}", *c.usd_per_hour) : "-",
                       c.list_purchase_usd > 0 ? fmt::format("{:.0f}", c.list_purchase_usd) : "-",
                       c.board_watts > 0 ? fmt::format("{:.0f}", c.board_watts) : "-", c.display_name);
          }
        }
        // Factors fitted to an engine's published figures (or assumed from another chip's
        // fit) are no spec-sheet facts: each with its source; the rest say they are idealised.
        if (!*json)
          for (const auto& c : catalog_chips()) {
            if (const auto p = c.provenance.find("efficiency"); p != c.provenance.end())
              fmt::print("{}: bandwidth {:.2f}, decode matmul {:.2f}, prefill MFU {:.2f}, {:.0f} us per collective ({}: {})\n",
                         c.name, c.efficiency.bandwidth, c.efficiency.decode_matmul, c.efficiency.prefill_mfu,
                         c.link_latency_s * 1e6, p->second.kind, p->second.source);
              else
                fmt::print("{}: the idealised roofline, prefill MFU {:.2f} (no engine figures fitted; the book's tables)\n",
                           c.name, c.efficiency.prefill_mfu);
          }
      } else {
        if (!*json)
          fmt::print("{:<13} {:>6} {:>6} {:>6} {:>5} {:>4} {:>5} {:>7} {:>8} {:>9} {:>9}\n", "model", "L", "D", "F", "N_q", "K",
                     "H", "V", "experts", "P", "P_active");
        for (const auto& m : catalog_models()) {
          if (*json)
            arr.push_back({{"name", m.name}, {"layers", m.layers}, {"d_model", m.d_model}, {"d_ff", m.d_ff},
                           {"q_heads", m.q_heads}, {"kv_heads", m.kv_heads}, {"head_dim", m.head_dim}, {"vocab", m.vocab},
                           {"experts", m.experts}, {"active_experts", m.active_experts},
                           {"params", m.total_params()}, {"active_params", m.active_params()}});
          else
            fmt::print("{:<13} {:>6} {:>6} {:>6} {:>5} {:>4} {:>5} {:>7} {:>8} {:>8.1f}B {:>8.1f}B\n", m.name, m.layers,
                       m.d_model, m.d_ff, m.q_heads, m.kv_heads, m.head_dim, m.vocab,
                       m.experts ? fmt::format("{}/{}", m.active_experts, m.experts) : "-", m.total_params() / 1e9,
                       m.active_params() / 1e9);
        }
      }
      if (*json) std::cout << reports::json_text(arr) << "\n";
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
