#include "stages/replay/history_export.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "schema/codec.h"
#include "schema/json.h"
#include "schema/results_store.h"

namespace nightshift::replay {
namespace {

const std::set<std::string, std::less<>> kJsonColumns = {"params", "metrics", "folds",
                                                         "gates",  "body",    "data"};

// What an events row becomes: the stored columns, then the decoded body.
const std::vector<std::string> kEventColumns = {"id",       "ts_ns",     "topic",   "type",
                                                "src_host", "src_stage", "src_pid", "seq",
                                                "data"};

void csv_field(std::string& line, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    line.append(text);
    return;
  }
  line.push_back('"');
  for (char c : text) {
    if (c == '"') line.push_back('"');
    line.push_back(c);
  }
  line.push_back('"');
}

std::string json_string(std::string_view text) { return dump_json(nlohmann::json(std::string(text))); }

// One output row, as (column, value) pairs already formatted for the output.
class RowWriter {
 public:
  RowWriter(ExportFormat format, std::ostream& out) : format_(format), out_(out) {}

  void header(const std::vector<std::string>& columns) {
    columns_ = columns;
    if (format_ != ExportFormat::csv) return;
    line_.clear();
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) line_.push_back(',');
      csv_field(line_, columns[i]);
    }
    out_ << line_ << '\n';
  }
  void begin() {
    line_.clear();
    index_ = 0;
    if (format_ == ExportFormat::jsonl) line_.push_back('{');
  }
  void null() { put({}, "null"); }
  void integer(int64_t v) { auto s = std::to_string(v); put(s, s); }
  void real(double v) { auto s = fmt::format("{}", v); put(s, s); }
  void text(std::string_view v) {
    bool json = kJsonColumns.count(columns_[index_]) > 0 && !v.empty();
    if (format_ == ExportFormat::csv) put(v, {});
    else put({}, json ? std::string(v) : json_string(v));
  }
  void end() {
    if (format_ == ExportFormat::jsonl) line_.push_back('}');
    out_ << line_ << '\n';
  }

 private:
  void put(std::string_view csv, std::string_view json) {
    if (index_ > 0) line_.push_back(',');
    if (format_ == ExportFormat::csv) {
      csv_field(line_, csv);
    } else {
      line_.append(json_string(columns_[index_]));
      line_.push_back(':');
      line_.append(json);
    }
    ++index_;
  }

  ExportFormat format_;
  std::ostream& out_;
  std::vector<std::string> columns_;
  std::string line_;
  std::size_t index_ = 0;
};

void write_cell(RowWriter& w, const Cell& c) {
  switch (c.type) {
    case Cell::Type::null: w.null(); break;
    case Cell::Type::integer: w.integer(c.integer); break;
    case Cell::Type::real: w.real(c.real); break;
    case Cell::Type::text: w.text(c.bytes); break;
    case Cell::Type::blob: w.text(fmt::format("<{} bytes>", c.bytes.size())); break;
  }
}

void write_event(RowWriter& w, const HistoryRows& rows, msgpack::zone& zone) {
  for (int i = 0; i < 4; ++i) write_cell(w, rows.cell(i));
  zone.clear();
  auto frame = decode_frame(rows.cell(4).bytes, zone);
  if (!frame) {
    for (int i = 0; i < 5; ++i) w.null();
    return;
  }
  const Header& h = frame->header;
  w.text(h.src.host);
  w.text(h.src.stage);
  w.integer(h.src.pid);
  w.integer(static_cast<int64_t>(h.seq));
  w.text(dump_json(to_json(frame->data)));
}

}  // namespace

Result<int64_t> write_history(sql::Database& db, const ExportOptions& options, std::ostream& out) {
  auto rows = HistoryRows::open(db, options.what, options.run);
  if (!rows) return rows.take_error();
  RowWriter writer(options.format, out);
  const bool events = options.what == HistoryKind::events;
  writer.header(events ? kEventColumns : rows->columns());
  msgpack::zone zone;
  int64_t written = 0;
  while (true) {
    auto more = rows->next();
    if (!more) return more.take_error();
    if (!*more) break;
    writer.begin();
    if (events) {
      write_event(writer, *rows, zone);
    } else {
      for (std::size_t i = 0; i < rows->columns().size(); ++i) write_cell(writer, rows->cell(static_cast<int>(i)));
    }
    writer.end();
    ++written;
    if (!out) return make_error(ErrorKind::disk_full, "writing failed after " + std::to_string(written) + " rows");
  }
  out.flush();
  if (!out) return make_error(ErrorKind::disk_full, "writing failed at the end");
  return written;
}

int run_export(const config::Config& config, const ExportOptions& options) {
  auto fail = [](const std::string& message) {
    std::cerr << "nightshift export: " << message << "\n";
    return 1;
  };
  auto store = ResultsStore::open_read_only(config.storage.results_db);
  if (!store) return fail(store.error());
  if (!store->has_schema()) return fail("no run '" + options.run + "' in " + config.storage.results_db);
  if (options.out.empty()) {
    auto n = write_history(store->db(), options, std::cout);
    return n ? 0 : fail(n.error());
  }
  // A partial file never takes the name: write beside it, rename when whole.
  std::string partial = options.out + ".partial";
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  if (!file) return fail("cannot write " + partial);
  auto n = write_history(store->db(), options, file);
  file.close();
  if (!n || !file) {
    std::remove(partial.c_str());
    return fail(n ? "writing " + options.out + " failed" : n.error());
  }
  std::error_code ec;
  std::filesystem::rename(partial, options.out, ec);
  if (ec) return fail("cannot rename " + partial + " to " + options.out + ": " + ec.message());
  std::cerr << "exported " << *n << " rows to " << options.out << "\n";
  return 0;
}

}  // namespace nightshift::replay
