/**
 * The denoising engine: the {@code sequential} and {@code async} strategies run a denoiser's
 * components on ranks — one worker thread per device, or a process elsewhere through a communicator
 * that has remote ranks — following the original AsyncDiff schedule, in one guidance group or two
 * (CFG-parallel), with the {@code inprocess} communicator moving tensors between ranks as views (no copy).
 * The loop sends every rank its work as {@link dev.asyncdiff.spi.RankTask}s, which a
 * {@link dev.asyncdiff.scheduler.async.RankRuntime} does on the rank's thread.
 *
 * <p>A {@link dev.asyncdiff.scheduler.async.WorkerStrategy} owns its {@link
 * dev.asyncdiff.scheduler.async.DeviceWorker}s and, through them, the sessions of the components
 * placed on each device and the {@link dev.asyncdiff.api.HostBufferPool} their outputs
 * are written into; closing the strategy closes its communicator, stops the threads and closes the
 * sessions.
 */
package dev.asyncdiff.scheduler.async;
