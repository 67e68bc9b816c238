/**
 * The denoising engine: the {@code sequential} and {@code async} strategies run a denoiser's
 * components on one worker thread per device, following the original AsyncDiff schedule.
 *
 * <p>A {@link dev.asyncdiff.scheduler.async.WorkerStrategy} owns its {@link
 * dev.asyncdiff.scheduler.async.DeviceWorker}s and, through them, the sessions of the components
 * placed on each device; closing the strategy stops the threads and closes the sessions.
 */
package dev.asyncdiff.scheduler.async;
