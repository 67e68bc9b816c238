package dev.asyncdiff.api;

/**
 * The parts of a video generation beyond an image's: how many frames, at what rate, and Stable Video
 * Diffusion's conditioning (its motion bucket, the noise added to the still image, the guidance ramp across
 * frames) and how many frames the temporal VAE decodes at once.
 *
 * @param frames           frames per clip; 0 for the model's default ({@code num_frames} of SVD's UNet, 16 for
 *                         AnimateDiff)
 * @param fps              frames per second of the clip; SVD is also conditioned on {@code fps − 1}
 * @param motionBucketId   SVD: how much motion to make (diffusers' default 127)
 * @param noiseAugStrength SVD: the noise added to the still image before it conditions the clip (default 0.02)
 * @param minGuidanceScale SVD: the guidance scale of the first frame, ramped linearly to the request's guidance
 *                         scale at the last (default 1.0)
 * @param decodeChunkSize  frames the VAE decodes per call; 0 decodes the whole clip at once. Smaller chunks bound
 *                         the decoder's memory; SVD's temporal decoder mixes frames within a chunk only
 */
public record VideoOptions(int frames, double fps, int motionBucketId, double noiseAugStrength,
                           double minGuidanceScale, int decodeChunkSize) {
    /** SVD's default frame rate, which AnimateDiff's clips use as well. */
    public static final double DEFAULT_FPS = 7;
    /** diffusers' default motion bucket. */
    public static final int DEFAULT_MOTION_BUCKET = 127;
    /** diffusers' default noise augmentation of the still image. */
    public static final double DEFAULT_NOISE_AUG = 0.02;
    /** The model's frame count, 7 fps, SVD's defaults, and the whole clip decoded at once. */
    public static final VideoOptions DEFAULT = new VideoOptions(0, DEFAULT_FPS, DEFAULT_MOTION_BUCKET,
            DEFAULT_NOISE_AUG, 1.0, 0);

    /**
     * Validates the parts.
     *
     * @throws IllegalArgumentException naming the part that is out of range
     */
    public VideoOptions {
        if (frames < 0) {
            throw new IllegalArgumentException("frames must be >= 1 (or 0 for the model's default), was " + frames);
        }
        if (!(fps > 0) || !Double.isFinite(fps)) {
            throw new IllegalArgumentException("fps must be a positive number, was " + fps);
        }
        if (motionBucketId < 0) {
            throw new IllegalArgumentException("the motion bucket id must be >= 0, was " + motionBucketId);
        }
        if (!(noiseAugStrength >= 0) || !Double.isFinite(noiseAugStrength)) {
            throw new IllegalArgumentException("the noise augmentation strength must be a finite number >= 0, was "
                    + noiseAugStrength);
        }
        if (!(minGuidanceScale >= 0) || !Double.isFinite(minGuidanceScale)) {
            throw new IllegalArgumentException("the minimum guidance scale must be a finite number >= 0, was "
                    + minGuidanceScale);
        }
        if (decodeChunkSize < 0) {
            throw new IllegalArgumentException("the decode chunk size must be >= 1 (or 0 for the whole clip), was "
                    + decodeChunkSize);
        }
    }

    /** These options with {@code count} frames per clip (0: the model's default). */
    public VideoOptions withFrames(int count) {
        return new VideoOptions(count, fps, motionBucketId, noiseAugStrength, minGuidanceScale, decodeChunkSize);
    }

    /** These options at {@code rate} frames per second. */
    public VideoOptions withFps(double rate) {
        return new VideoOptions(frames, rate, motionBucketId, noiseAugStrength, minGuidanceScale, decodeChunkSize);
    }

    /** These options with SVD's motion bucket {@code id}. */
    public VideoOptions withMotionBucketId(int id) {
        return new VideoOptions(frames, fps, id, noiseAugStrength, minGuidanceScale, decodeChunkSize);
    }

    /** These options with SVD's noise augmentation {@code strength}. */
    public VideoOptions withNoiseAugStrength(double strength) {
        return new VideoOptions(frames, fps, motionBucketId, strength, minGuidanceScale, decodeChunkSize);
    }

    /** These options with SVD's first-frame guidance {@code scale}. */
    public VideoOptions withMinGuidanceScale(double scale) {
        return new VideoOptions(frames, fps, motionBucketId, noiseAugStrength, scale, decodeChunkSize);
    }

    /** These options decoding {@code size} frames per VAE call (0: the whole clip). */
    public VideoOptions withDecodeChunkSize(int size) {
        return new VideoOptions(frames, fps, motionBucketId, noiseAugStrength, minGuidanceScale, size);
    }
}
