# fupin_link_names: Chinese personal names for comparison (link/names.h). Included by
# src/link/CMakeLists.txt.
#
# The pinyin table is generated at build time from Unihan's kMandarin readings, which Debian
# ships in the unicode-data package; OpenCC (libopencc-dev, opencc) gives traditional ->
# simplified at run time.
set(FUPIN_UNIHAN_READINGS /usr/share/unicode/Unihan_Readings.txt.bz2 CACHE FILEPATH
    "Unihan_Readings.txt.bz2 (Debian package unicode-data): source of the pinyin table")
if(NOT EXISTS "${FUPIN_UNIHAN_READINGS}")
  message(FATAL_ERROR "Unihan readings not found at '${FUPIN_UNIHAN_READINGS}'. Install the "
          "Debian package unicode-data (scripts/setup does), or point -DFUPIN_UNIHAN_READINGS= "
          "at a copy of Unihan_Readings.txt.bz2.")
endif()
find_program(FUPIN_BZCAT bzcat)
if(NOT FUPIN_BZCAT)
  message(FATAL_ERROR "bzcat not found: install the Debian package bzip2 (scripts/setup does).")
endif()

# A host tool, run at build time only.
add_executable(gen_pinyin_table ${CMAKE_CURRENT_SOURCE_DIR}/gen_pinyin_table.cc)

set(FUPIN_PINYIN_TABLE_CC ${CMAKE_CURRENT_BINARY_DIR}/pinyin_table_data.cc)
add_custom_command(
  OUTPUT ${FUPIN_PINYIN_TABLE_CC}
  COMMAND ${FUPIN_BZCAT} ${FUPIN_UNIHAN_READINGS} | $<TARGET_FILE:gen_pinyin_table>
          ${FUPIN_PINYIN_TABLE_CC}
  DEPENDS gen_pinyin_table ${FUPIN_UNIHAN_READINGS}
  COMMENT "Generating the pinyin table from ${FUPIN_UNIHAN_READINGS}"
  VERBATIM)

add_library(fupin_link_names ${CMAKE_CURRENT_SOURCE_DIR}/names.cc ${FUPIN_PINYIN_TABLE_CC})
target_include_directories(fupin_link_names PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(fupin_link_names PUBLIC fupin_core PRIVATE PkgConfig::OPENCC)

fupin_test(link_names_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/names_test.cc
           LIBS fupin_link_names)
