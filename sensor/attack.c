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
const ps_technique ps_t1609 = {"T1609", "Container Administration Command", "execution"};
const ps_technique ps_t1610 = {"T1610", "Deploy Container", "execution"};
const ps_technique ps_t1611 = {"T1611", "Escape to Host", "privilege-escalation"};
const ps_technique ps_t1105 = {"T1105", "Ingress Tool Transfer", "command-and-control"};
const ps_technique ps_t1612 = {"T1612", "Build Image on Host", "defense-evasion"};
const ps_technique ps_t1528 = {"T1528", "Steal Application Access Token", "credential-access"};
const ps_technique ps_t1572 = {"T1572", "Protocol Tunneling", "command-and-control"};
