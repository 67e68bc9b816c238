/**
 * Video generation: Stable Video Diffusion (image-to-video) and AnimateDiff (text-to-video) on the
 * engine's strategies, with the temporal VAE decoded in chunks, and clips written as MP4, animated
 * GIF or numbered PNG frames.
 */
package dev.asyncdiff.adapters.video;
