// roofaudit self-doc man|bash: the manual page and the bash completion, written from the
// same CLI definition that --help prints, so neither can drift from the options. The build
// runs it to make the installed roofaudit.1 and completion script.
#include <algorithm>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/serving.hpp"
#include "build_info.hpp"
#include "cli/command.hpp"
#include "probes/probe.hpp"

namespace roofaudit::cli {
namespace {

// roff text: a leading dot or quote would be a request, a backslash an escape.
std::string roff(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

// The verbs a user sees (internal ones sit in the empty group).
std::vector<const CLI::App*> visible_verbs(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
    out.push_back(sub);
  return out;
}

std::vector<const CLI::Option*> options_of(const CLI::App& app) {
  std::vector<const CLI::Option*> out;
  for (const auto* o : app.get_options([](const CLI::Option* o) { return o->get_name() != "--help" && !o->get_group().empty(); }))
    out.push_back(o);
  return out;
}

// A flag takes no value; an option one or more.
bool takes_value(const CLI::Option& o) { return o.get_items_expected_max() > 0; }

std::string option_synopsis(const CLI::Option& o) {
  std::string name = o.get_name(false, true);
  if (o.get_positional()) return fmt::format("\\fI{}\\fR", roff(o.get_name()));
  std::string text = fmt::format("\\fB{}\\fR", roff(name));
  if (takes_value(o)) text += fmt::format(" \\fI{}\\fR", roff(o.get_type_name().empty() ? "VALUE" : o.get_type_name()));
  return text;
}

void print_options(std::ostream& out, const CLI::App& app) {
  for (const auto* o : options_of(app)) {
    out << ".TP\n" << option_synopsis(*o) << "\n" << roff(o->get_description());
    if (!o->get_default_str().empty()) out << roff(fmt::format(" (default: {})", o->get_default_str()));
    out << "\n";
  }
}

void print_man(const CLI::App& app) {
  std::ostream& out = std::cout;
  out << fmt::format(".TH ROOFAUDIT 1 \"\" \"roofaudit {}\" \"User Commands\"\n", build_info::version);
  out << ".SH NAME\nroofaudit \\- " << roff(app.get_description().substr(app.get_description().find(':') + 2)) << "\n";
  out << ".SH SYNOPSIS\n\\fBroofaudit\\fR [\\fB\\-\\-db\\fR \\fIPATH\\fR] \\fIVERB\\fR [\\fIOPTIONS\\fR]\n";
  out << ".SH DESCRIPTION\n"
         "roofaudit measures memory bandwidth per level, latency, peak and matmul throughput per precision, and host\\(endevice "
         "and chip\\(enchip links, on the CPU, on any Vulkan GPU and on NVIDIA GPUs through CUDA's libraries. Every "
         "figure is validated before it is stored in SQLite. It fits a roofline and predicts what serving an LLM costs on "
         "the machine beside catalogue chips.\n";
  out << ".SH GLOBAL OPTIONS\n";
  print_options(out, app);
  out << ".SH VERBS\n";
  for (const auto* verb : visible_verbs(app)) {
    out << ".SS " << roff(verb->get_name()) << "\n" << roff(verb->get_description()) << "\n";
    print_options(out, *verb);
  }
  out << ".SH FILES\n.TP\n\\fI$XDG_DATA_HOME/roofaudit/roofaudit.db\\fR\nThe default database "
         "(\\fI~/.local/share/roofaudit/roofaudit.db\\fR), else \\fB$ROOFAUDIT_DB\\fR or \\fB\\-\\-db\\fR.\n";
  out << ".SH ENVIRONMENT\n.TP\n\\fBROOFAUDIT_DB\\fR\nThe database when \\fB\\-\\-db\\fR is not given.\n"
         ".TP\n\\fBROOFAUDIT_MAX_ISA\\fR\nCaps the CPU kernels' instruction set (x86-64: generic, avx2, "
         "avx-vnni, avx512, avx512-vnni, avx512-bf16, amx; AArch64: generic, neon, dotprod, i8mm, sve, sve2), so any "
         "host exercises the lower paths.\n.TP\n\\fBROOFAUDIT_VK_VALIDATION\\fR\n1 runs the GPU probes under the Khronos "
         "validation layer.\n";
  out << ".SH EXIT STATUS\n0 success; 1 a measurement failed validation; 2 bad input, an unusable database or "
         "output that could not be written; 3 an internal error; 130 interrupted.\n";
  out << ".SH SEE ALSO\n\\fBlikwid\\-bench\\fR(1), \\fBlstopo\\fR(1), \\fBvulkaninfo\\fR(1); the README, "
         "\\fIdocs/schema.md\\fR and \\fIdocs/ci.md\\fR under \\fI/usr/share/doc/roofaudit\\fR.\n";
}

// Words completed after an option: the catalogue's names, the probes, the dtypes; a path
// where the option takes a file.
std::string values_for(const std::string& option) {
  std::vector<std::string> words;
  if (option == "--chip") {
    words = {"local", "local:cpu", "local:gpu:0"};
    for (const auto& c : calibrate::catalog_chips()) words.push_back(c.name);
  } else if (option == "--model" || option == "--draft") {
    for (const auto& m : calibrate::catalog_models()) words.push_back(m.name);
  } else if (option == "--probes") {
    for (const auto& p : ProbeRegistry::instance().all()) words.push_back(std::string(p->name()));
  } else if (option == "--weights" || option == "--kv") {
    for (auto d : {calibrate::Dtype::bf16, calibrate::Dtype::fp16, calibrate::Dtype::fp8, calibrate::Dtype::int8,
                   calibrate::Dtype::int4, calibrate::Dtype::fp4})
      words.push_back(calibrate::dtype_name(d));
  } else {
    return "";
  }
  return fmt::format("{}", fmt::join(words, " "));
}

void print_bash(const CLI::App& app) {
  std::ostream& out = std::cout;
  std::vector<std::string> verbs, globals;
  for (const auto* v : visible_verbs(app)) verbs.push_back(v->get_name());
  for (const auto* o : options_of(app)) globals.push_back(o->get_name(false, true));
  globals.push_back("--help");
  globals.push_back("--version");
  out << "# bash completion for roofaudit, written by 'roofaudit self-doc bash' from its own options\n";
  out << "_roofaudit() {\n  local cur prev verb i\n  COMPREPLY=()\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
         "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n  verb=\"\"\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n    case \"${COMP_WORDS[i]}\" in\n"
         "      --db|--busy-timeout-ms) ((i++)) ;;\n      -*) ;;\n      *) verb=\"${COMP_WORDS[i]}\"; break ;;\n"
         "    esac\n  done\n";
  // Values of the options that name things.
  std::set<std::string> valued;
  out << "  case \"$prev\" in\n";
  for (const auto* v : visible_verbs(app))
    for (const auto* o : options_of(*v)) {
      const std::string name = o->get_name(false, true);
      if (name.rfind("--", 0) != 0 || !takes_value(*o) || !valued.insert(name).second) continue;
      const std::string words = values_for(name);
      if (!words.empty())
        out << fmt::format("    {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); [[ $prev == --model || $prev == --chip ]] && "
                           "COMPREPLY+=($(compgen -f -- \"$cur\")); return 0 ;;\n",
                           name, words);
      else if (name == "--db" || name == "--engine" || name == "--workload" || name == "--out" || name == "--output" ||
               name == "--price-config" || name.find("dist") != std::string::npos)
        out << fmt::format("    {}) COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n", name);
    }
  out << "    --db) COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n  esac\n";
  out << fmt::format("  if [[ -z $verb ]]; then\n    COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\"))\n    return 0\n  fi\n",
                     fmt::join(verbs, " "), fmt::join(globals, " "));
  out << "  case \"$verb\" in\n";
  for (const auto* v : visible_verbs(app)) {
    std::vector<std::string> words;
    for (const auto* o : options_of(*v))
      if (!o->get_positional()) words.push_back(o->get_name(false, true));
    for (const auto* s : visible_verbs(*v)) words.push_back(s->get_name());
    if (v->get_name() == "catalog") words.insert(words.end(), {"chips", "models"});
    words.push_back("--help");
    out << fmt::format("    {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;\n", v->get_name(), fmt::join(words, " "));
  }
  out << "  esac\n}\ncomplete -F _roofaudit roofaudit\n";
}

}  // namespace

void add_self_doc_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("self-doc", "the manual page (man) or bash completion (bash), from the CLI definition");
  cmd->group("");  // internal: the build writes the installed files with it
  auto what = std::make_shared<std::string>();
  cmd->add_option("WHAT", *what, "man or bash")->required()->check(CLI::IsMember({"man", "bash"}));
  cmd->callback([&action, &app, what] {
    action = [&app, what] {
      if (*what == "man") print_man(app);
      else print_bash(app);
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
