/**
 * Synthetic Stable Diffusion models: the real architectures of the SD 1.5, SD 2.1 and SDXL text
 * encoders, UNets and VAEs (and the other families', the SD 1.5 / 2.1 / XL ControlNets and AnimateDiff's
 * motion UNet) at tiny, small and full scale, as ONNX graphs with seeded weights, and model folders in the
 * exported diffusers layout.
 */
package dev.asyncdiff.synthetic;
