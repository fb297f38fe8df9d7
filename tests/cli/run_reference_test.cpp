// The command line's text parsers on their own: sizes and UTF-8 names.
#include <gtest/gtest.h>

#include <string>

#include "cli/run_reference.hpp"
#include "values/error.hpp"

namespace roofaudit::cli {
namespace {

TEST(ParseBytes, UnitsAndRefusals) {
  EXPECT_EQ(parse_bytes("65536"), 65536u);
  EXPECT_EQ(parse_bytes("24kB"), 24000u);
  EXPECT_EQ(parse_bytes("512KiB"), 512u * 1024);
  EXPECT_EQ(parse_bytes("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_bytes("0.5k"), 500u);
  for (const char* bad : {"", "lots", "-4k", " 4k", "0x10", "inf", "nan", "0", ".11B", "4 k", "1e30"})
    EXPECT_THROW(parse_bytes(bad), Error) << "'" << bad << "'";
  try {
    parse_bytes("1PiB");
    ADD_FAILURE() << "1PiB was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than any working set"), std::string::npos) << e.what();
  }
}

TEST(IsUtf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("baseline"));
  EXPECT_TRUE(is_utf8("r\xc3\xa9" "f\xc3\xa9rence"));   // é, two bytes
  EXPECT_TRUE(is_utf8("\xe2\x82\xac"));                  // €, three
  EXPECT_TRUE(is_utf8("\xf0\x9f\x9a\x80"));              // U+1F680, four
  EXPECT_FALSE(is_utf8("bad\xff"));
  EXPECT_FALSE(is_utf8("\xc3"));                         // cut short
  EXPECT_FALSE(is_utf8("\xc0\xaf"));                     // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));                 // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));             // past U+10FFFF
}

}  // namespace
}  // namespace roofaudit::cli
