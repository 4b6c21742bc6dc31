/* attack.c - names and tactics of the ATT&CK techniques in detection records. */
#include "attack.h"

const ps_technique ps_t1613 = {"T1613", "Container and Resource Discovery", "discovery"};
const ps_technique ps_t1082 = {"T1082", "System Information Discovery", "discovery"};
const ps_technique ps_t1552_007 = {"T1552.007", "Unsecured Credentials: Container API",
                                   "credential-access"};
const ps_technique ps_t1654 = {"T1654", "Log Enumeration", "discovery"};
const ps_technique ps_t1005 = {"T1005", "Data from Local System", "collection"};
const ps_technique ps_t1046 = {"T1046", "Network Service Discovery", "discovery"};
const ps_technique ps_t1069 = {"T1069", "Permission Groups Discovery", "discovery"};
