/**
 * ControlNet for Stable Diffusion 1.x, 2.x and XL: {@link dev.asyncdiff.adapters.controlnet.ControlNets} merges
 * one or several ControlNets into the UNet graph so that AsyncDiff's planner spreads their cost over the devices,
 * {@link dev.asyncdiff.adapters.controlnet.ControlNetAdapterProvider} opens a folder with its ControlNets (add-ons
 * of kind {@code controlnet}), and {@link dev.asyncdiff.adapters.controlnet.CannyEdges} makes control images.
 */
package dev.asyncdiff.adapters.controlnet;
