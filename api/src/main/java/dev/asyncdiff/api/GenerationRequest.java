package dev.asyncdiff.api;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * One text-to-image, image-to-image, inpainting, upscaling, ControlNet, image-to-video or text-to-video generation. Build it with {@link #builder(String)}; every part
 * but the prompt is optional.
 *
 * @param prompt         what to draw
 * @param negativePrompt what to steer away from ({@code ""} for none)
 * @param steps          denoising steps (image-to-image runs {@code floor(steps × strength)} of them)
 * @param guidanceScale  classifier-free guidance scale; null for the family's default (7.5, XL 5.0);
 *                       at most 1 runs without guidance
 * @param seed           the seed of the first image's noise; image {@code i} starts from {@code seed + i}'s noise
 * @param width          image width in pixels, a multiple of 8; 0 for the model's default
 * @param height         image height in pixels, a multiple of 8; 0 for the model's default
 * @param numImages      images per prompt (one batch)
 * @param scheduler      a sampler name ({@code euler_a}, {@code dpmpp_2m_karras}, a diffusers class …) or
 *                       null for the model's own {@code scheduler_config.json}
 * @param initImage      the image to start from (image-to-image), or null
 * @param strength       how much of the init image to replace, in [0, 1] (image-to-image and inpainting);
 *                       inpainting at 1 starts from pure noise, as diffusers
 * @param mask           inpainting: white (luma &ge; 0.5) where the init image is repainted, black where it is
 *                       kept; resized to the image when its size differs; or null
 * @param noiseLevel     upscaling: the noise the low-resolution init image is given before the upscaler conditions
 *                       on it (the x4 upscaler's {@code noise_level}, default {@value #DEFAULT_NOISE_LEVEL}); null
 *                       for every other kind
 * @param controls       ControlNet: one control image per ControlNet of the pipeline, in order; empty for every
 *                       other kind
 * @param guessMode      ControlNet's guess mode: the ControlNets act on the conditional branch of guidance alone,
 *                       their residuals scaled from 0.1 (shallowest) to 1 (the mid block), so the control image is
 *                       followed even without a prompt
 * @param video          image-to-video (with an init image, the still the clip starts from) and text-to-video: the
 *                       frames, frame rate and video conditioning; null for images
 * @param listener       told about phases and steps
 * @param cancellation   cancels the generation within one step
 */
public record GenerationRequest(String prompt, String negativePrompt, int steps, Double guidanceScale, long seed,
                                int width, int height, int numImages, String scheduler, BufferedImage initImage,
                                double strength, BufferedImage mask, Integer noiseLevel, List<ControlImage> controls,
                                boolean guessMode, VideoOptions video, GenerationListener listener,
                                CancellationToken cancellation) {
    /** Default number of denoising steps. */
    public static final int DEFAULT_STEPS = 25;
    /** Default image-to-image strength, as diffusers. */
    public static final double DEFAULT_STRENGTH = 0.8;
    /** Default upscaling noise level, as diffusers' {@code StableDiffusionUpscalePipeline}. */
    public static final int DEFAULT_NOISE_LEVEL = 20;

    /**
     * Validates the parts.
     *
     * @throws IllegalArgumentException naming the part that is out of range
     */
    public GenerationRequest {
        if (prompt == null) {
            throw new IllegalArgumentException("a generation needs a prompt (it may be empty)");
        }
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, was " + steps);
        }
        if (guidanceScale != null && !(guidanceScale >= 0 && Double.isFinite(guidanceScale))) {
            throw new IllegalArgumentException("guidance scale must be a finite number >= 0, was " + guidanceScale);
        }
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("width and height must be positive (or 0 for the model's default), was "
                    + width + "x" + height);
        }
        if (numImages < 1) {
            throw new IllegalArgumentException("numImages must be >= 1, was " + numImages);
        }
        if (!(strength >= 0.0 && strength <= 1.0)) {
            throw new IllegalArgumentException("strength must be in [0, 1], was " + strength);
        }
        if (mask != null && initImage == null) {
            throw new IllegalArgumentException("an inpainting mask needs an init image to paint into");
        }
        if (noiseLevel != null && (initImage == null || mask != null || noiseLevel < 0)) {
            throw new IllegalArgumentException(noiseLevel < 0 ? "the noise level must be >= 0, was " + noiseLevel
                    : "upscaling takes a low-resolution image and no mask");
        }
        controls = controls == null ? List.of() : List.copyOf(controls);
        if (!controls.isEmpty() && initImage != null) {
            throw new IllegalArgumentException("control images guide a generation from noise; ControlNet with an init "
                    + "image (image-to-image, inpainting, upscaling) is not served");
        }
        if (guessMode && controls.isEmpty()) {
            throw new IllegalArgumentException("guess mode is a ControlNet setting: it needs control images");
        }
        if (video != null && (mask != null || noiseLevel != null || !controls.isEmpty())) {
            throw new IllegalArgumentException("a video is made from a still image (image-to-video) or a prompt "
                    + "(text-to-video); a mask, an upscaling noise level or control images do not apply");
        }
        listener = listener == null ? GenerationListener.NONE : listener;
        cancellation = cancellation == null ? CancellationToken.none() : cancellation;
    }

    /** A builder for {@code prompt} with every other part at its default. */
    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    /** Whether this starts from an init image (image-to-image or inpainting). */
    public boolean imageToImage() {
        return initImage != null;
    }

    /** Whether this is an upscaling generation (a low-resolution image and a noise level). */
    public boolean upscaling() {
        return noiseLevel != null;
    }

    /** Whether this is an inpainting generation (an init image and a mask). */
    public boolean inpainting() {
        return mask != null;
    }

    /** Whether ControlNets guide this generation. */
    public boolean controlled() {
        return !controls.isEmpty();
    }

    /** Whether this makes a clip rather than images. */
    public boolean makesVideo() {
        return video != null;
    }

    /** The kind of generation this is. */
    public RequestKind kind() {
        if (video != null) {
            return initImage != null ? RequestKind.IMAGE_TO_VIDEO : RequestKind.TEXT_TO_VIDEO;
        }
        return inpainting() ? RequestKind.INPAINTING : upscaling() ? RequestKind.UPSCALING
                : imageToImage() ? RequestKind.IMAGE_TO_IMAGE : controlled() ? RequestKind.CONTROLNET
                : RequestKind.TEXT_TO_IMAGE;
    }

    /** Builds a {@link GenerationRequest}. Not thread-safe. */
    public static final class Builder {
        private final String prompt;
        private String negativePrompt = "";
        private int steps = DEFAULT_STEPS;
        private Double guidanceScale;
        private long seed;
        private int width;
        private int height;
        private int numImages = 1;
        private String scheduler;
        private BufferedImage initImage;
        private double strength = DEFAULT_STRENGTH;
        private BufferedImage mask;
        private Integer noiseLevel;
        private final List<ControlImage> controls = new ArrayList<>();
        private boolean guessMode;
        private VideoOptions video;
        private GenerationListener listener = GenerationListener.NONE;
        private CancellationToken cancellation = CancellationToken.none();

        private Builder(String prompt) {
            this.prompt = prompt;
        }

        /** What to steer away from. */
        public Builder negativePrompt(String text) {
            this.negativePrompt = text;
            return this;
        }

        /** Denoising steps (default {@value GenerationRequest#DEFAULT_STEPS}). */
        public Builder steps(int count) {
            this.steps = count;
            return this;
        }

        /** Classifier-free guidance scale (default: the family's). */
        public Builder guidanceScale(double scale) {
            this.guidanceScale = scale;
            return this;
        }

        /** The seed of the first image (default 0). */
        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        /** Image size in pixels, multiples of 8 (default: the model's). */
        public Builder size(int widthPixels, int heightPixels) {
            this.width = widthPixels;
            this.height = heightPixels;
            return this;
        }

        /** Images per prompt (default 1). */
        public Builder numImages(int count) {
            this.numImages = count;
            return this;
        }

        /** A sampler name or diffusers scheduler class (default: the model's scheduler). */
        public Builder scheduler(String name) {
            this.scheduler = name;
            return this;
        }

        /** Image-to-image: start from {@code image}, replacing {@code strengthValue} of it. */
        public Builder initImage(BufferedImage image, double strengthValue) {
            this.initImage = image;
            this.strength = strengthValue;
            return this;
        }

        /**
         * Inpainting: repaint where {@code maskImage} is white (needs {@link #initImage}); null for none.
         */
        public Builder mask(BufferedImage maskImage) {
            this.mask = maskImage;
            return this;
        }

        /**
         * Upscaling: the low-resolution {@code image} to upscale, given {@code level} noise first (the x4
         * upscaler's {@code noise_level}, {@value GenerationRequest#DEFAULT_NOISE_LEVEL} by default); the
         * output is the model's factor (4) times its size.
         */
        public Builder upscale(BufferedImage image, int level) {
            this.initImage = image;
            this.noiseLevel = level;
            return this;
        }

        /** ControlNet: the control image of the next ControlNet of the pipeline (call once per ControlNet, in order). */
        public Builder control(ControlImage control) {
            this.controls.add(control);
            return this;
        }

        /** ControlNet's guess mode (default off); see {@link GenerationRequest#guessMode()}. */
        public Builder guessMode(boolean value) {
            this.guessMode = value;
            return this;
        }

        /**
         * Image-to-video (Stable Video Diffusion): a clip that starts from {@code still}, with {@code options}'
         * frames and conditioning.
         */
        public Builder imageToVideo(BufferedImage still, VideoOptions options) {
            this.initImage = still;
            this.strength = 1.0;
            this.video = options;
            return this;
        }

        /** Text-to-video (AnimateDiff): a clip of the prompt, with {@code options}' frames and rate. */
        public Builder textToVideo(VideoOptions options) {
            this.video = options;
            return this;
        }

        /** Told about phases and steps. */
        public Builder listener(GenerationListener value) {
            this.listener = value;
            return this;
        }

        /** Cancels the generation when cancelled. */
        public Builder cancellation(CancellationToken token) {
            this.cancellation = token;
            return this;
        }

        /**
         * The validated request.
         *
         * @throws IllegalArgumentException as {@link GenerationRequest#GenerationRequest} does
         */
        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, steps, guidanceScale, seed, width, height, numImages,
                    scheduler, initImage, strength, mask, noiseLevel, controls, guessMode, video, listener, cancellation);
        }
    }
}
