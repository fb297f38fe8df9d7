#pragma once
// Where a verb's output goes, and the rules that keep it from destroying anything.
#include <memory>
#include <streambuf>
#include <string>

namespace roofaudit::cli {

// Writes `text` to `path` the way the README's --output rules say:
//   - never onto the database in use nor the files SQLite keeps beside it (-wal, -shm,
//     -journal), by name or by being the same file, through links or not;
//   - a regular file is replaced atomically (a temporary beside it, renamed over it), with
//     its permission bits kept; a read-only one (no write bit) is refused; on any failure
//     the old file stays and the temporary is removed;
//   - a symbolic link is followed, and the file it names is replaced as above (a dangling
//     link's target is created);
//   - a device, FIFO or socket is written through, as a shell redirection would, and so
//     is an open descriptor named as /dev/stdout, /dev/fd/N or /proc/self/fd/N.
// Throws Error with one line naming the path and the reason.
void write_output_file(const std::string& path, const std::string& text, const std::string& database_path);

// While alive, everything written to std::cout passes through a filter that shows control
// characters other than newline and tab in caret notation (ESC as ^[, CR as ^M): strings
// stored in a database (host names, tags, command lines) cannot set a terminal's title,
// colours or cursor. JSON output is unaffected (its writer escapes them already).
class NeutralisedStdout {
 public:
  NeutralisedStdout();
  ~NeutralisedStdout();
  NeutralisedStdout(const NeutralisedStdout&) = delete;
  NeutralisedStdout& operator=(const NeutralisedStdout&) = delete;

 private:
  struct Filter;
  std::unique_ptr<Filter> filter_;
  std::streambuf* previous_;
};

// `text` on one line with nothing a terminal acts on: control characters (newline and
// escape included) in caret notation, as NeutralisedStdout shows them; directional
// formatting characters (U+202E...) as <U+202E>.
std::string printable(const std::string& text);

// Flushes standard output and throws Error when anything written to it was lost (a full
// disk, /dev/full, a closed pipe).
void check_stdout();

}  // namespace roofaudit::cli
