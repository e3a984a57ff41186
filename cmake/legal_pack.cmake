# The rule pack (rules/us.json) compiled in as a C string for
# lib/rules/legal_slot.c (legal_pack_builtin), so that the scheduler, the
# dialer, the API and the audit judge by the same pack.
set(LEGAL_PACK_OUT ${CMAKE_BINARY_DIR}/gen/legal_pack_data.c)
add_custom_command(
    OUTPUT ${LEGAL_PACK_OUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/gen/legal_pack.py
            ${CMAKE_SOURCE_DIR}/rules/us.json ${LEGAL_PACK_OUT}
    DEPENDS ${CMAKE_SOURCE_DIR}/tools/gen/legal_pack.py ${CMAKE_SOURCE_DIR}/rules/us.json
    COMMENT "Compiling the rule pack rules/us.json")
list(APPEND OUTDIAL_GENERATED_SOURCES ${LEGAL_PACK_OUT})
