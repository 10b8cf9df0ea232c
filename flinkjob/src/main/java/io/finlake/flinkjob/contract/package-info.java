/**
 * The output records of the contract (DATA_DICTIONARY.md): the enriched transaction, the alert and the dead
 * letter, one declaration each, field for field in the order they are written. Go declares the same records in
 * its contract package; both are held to the shared test vectors in contract/testdata/.
 */
package io.finlake.flinkjob.contract;
