package dev.asyncdiff.api;

import java.util.Locale;

/** The kinds of generation a {@link DiffusionPipeline} serves; the compatibility kit runs each one a pipeline names. */
public enum RequestKind {
    /** From noise, conditioned on a prompt. */
    TEXT_TO_IMAGE,
    /** From a noised init image ({@link GenerationRequest#initImage()}, {@link GenerationRequest#strength()}). */
    IMAGE_TO_IMAGE,
    /** A noised init image repainted where a mask is white ({@link GenerationRequest#mask()}). */
    INPAINTING,
    /** A low-resolution image made larger ({@link GenerationRequest.Builder#upscale}). */
    UPSCALING,
    /** From noise, conditioned on a prompt and guided by ControlNets' control images ({@link GenerationRequest#controls()}). */
    CONTROLNET,
    /** A clip from a still image ({@link GenerationRequest#initImage()}, {@link GenerationRequest#video()}): Stable Video Diffusion. */
    IMAGE_TO_VIDEO,
    /** A clip from noise, conditioned on a prompt ({@link GenerationRequest#video()}): AnimateDiff. */
    TEXT_TO_VIDEO;

    /** Whether the kind makes clips, whose frames follow one another in {@link GenerationResult#images()}. */
    public boolean video() {
        return this == IMAGE_TO_VIDEO || this == TEXT_TO_VIDEO;
    }

    /** The stable name, e.g. {@code text-to-image}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
