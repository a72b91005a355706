/* accounting_store: the SQLite database of lifetime usage and finished connections — its schema
 * and migrations, batched writes, searches, usage resets, retention — synchronous, one thread. */
/* PLACEHOLDER: the implementation is being written. */
#include "accounting_store.h"
