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
    CONTROLNET;

    /** The stable name, e.g. {@code text-to-image}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
