/**
 * The stateful heart of the job, keyed by account_id: duplicate and lifecycle checks per transaction,
 * evaluation of the fraud rules on each transaction's first event (immediately where the event alone
 * decides, at the watermark where earlier events of the account matter), and the output records.
 */
package io.finlake.flinkjob.engine;
